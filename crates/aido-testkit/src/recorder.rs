//! What every emulator keeps: the requests it received, for assertions,
//! and its queues of faults, per route.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, Method, Uri};

use crate::faults::Fault;

/// One request an emulator received, as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, such as `/v1/messages`.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// Headers by lower-case name; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The fault this request met, if one was queued.
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The request log and the fault queues of one emulator.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
}

/// Locks a mutex whose every update is a single push or pop, so a panic
/// elsewhere cannot have left it inconsistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    /// Records a request to `route` and takes the fault queued for it.
    pub(crate) fn arrive(
        &self,
        route: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Fault> {
        let fault = lock(&self.faults)
            .get_mut(route)
            .and_then(VecDeque::pop_front);
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            by_name
                .entry(name.as_str().to_owned())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        lock(&self.requests).push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: by_name,
            body: body.to_vec(),
            fault: fault.as_ref().map(Fault::describe),
        });
        fault
    }

    /// Every request so far, oldest first.
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Queues `fault` for the next request to `route` that has none.
    pub(crate) fn push_fault(&self, route: &str, fault: Fault) {
        lock(&self.faults)
            .entry(route.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// Forgets queued faults and recorded requests.
    pub(crate) fn reset(&self) {
        lock(&self.faults).clear();
        lock(&self.requests).clear();
    }
}
