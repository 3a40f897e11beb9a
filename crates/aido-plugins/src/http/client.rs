//! [`HttpClient`], built once per connected plugin, and [`HttpRequest`],
//! one call with its retry loop.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aido_plugin_api::{Error, Result};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::{Auth, HttpConfig, parse_base_url};
use super::errors::{Answer, Delivery, RequestInfo, Transport, status_error, transport_error};
use super::failed::ErrorMapper;
use super::rate_limit::ClientRateLimit;
use super::redact::{Redactor, loggable_url};
use super::response::HttpResponse;
use super::retry::{Decision, Failure, RetryPolicy};
use super::retry_after::retry_after;

/// A client for one service: connection pool, credentials, retry policy,
/// rate limit. Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    plugin: String,
    client: reqwest::Client,
    base_url: Url,
    secret_url: bool,
    auth: AuthHeader,
    policy: RetryPolicy,
    request_timeout: Duration,
    rate_limit: Option<ClientRateLimit>,
    redactor: Arc<Redactor>,
    /// The plugin's own reading of its service's error answers.
    error_mapper: Option<ErrorMapper>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only what is safe to show: a secret base URL (a webhook's) is
        // shown as its host, credentials not at all.
        f.debug_struct("HttpClient")
            .field("plugin", &self.plugin)
            .field(
                "base_url",
                &loggable_url(&self.base_url, self.secret_url, &self.redactor),
            )
            .field("policy", &self.policy)
            .field("request_timeout", &self.request_timeout)
            .field("rate_limited", &self.rate_limit.is_some())
            .finish_non_exhaustive()
    }
}

/// Credentials ready to attach to each request.
#[derive(Debug)]
enum AuthHeader {
    None,
    /// A header whose value is marked sensitive, so the HTTP stack never
    /// logs it.
    Header(HeaderName, HeaderValue),
    Basic {
        user: String,
        password: aido_plugin_api::Secret,
    },
}

impl HttpClient {
    /// Builds the client. Fails with a configuration error on a bad base
    /// URL or header, never quoting a secret.
    pub(crate) fn new(config: HttpConfig) -> Result<Self> {
        let plugin = config.plugin.clone();
        let base_url = parse_base_url(&config.base_url.raw).map_err(|problem| {
            let shown = if config.base_url.secret {
                "the configured URL".to_owned()
            } else {
                format!("`{}`", config.base_url.raw)
            };
            Error::configuration(format!("{shown} is not a valid http(s) URL ({problem})"))
        })?;
        let mut secrets: Vec<String> = config
            .auth
            .secrets()
            .into_iter()
            .chain(config.extra_secrets.iter())
            .map(|secret| secret.expose().to_owned())
            .collect();
        if let Auth::Basic { user, password } = &config.auth {
            // What actually travels is base64 of `user:password`; a service
            // echoing the header back must not leak it either.
            secrets.push(format!("{user}:{}", password.expose()));
        }
        let mut redactor = Redactor::new(secrets);
        if config.base_url.secret {
            redactor = redactor.with_secret_url(&base_url);
        }
        let auth = auth_header(&config.auth)?;
        let mut default_headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::configuration(format!("`{name}` is not a valid HTTP header name"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::configuration(format!("the value of header `{name}` is not valid"))
            })?;
            default_headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(default_headers)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|err| {
                Error::configuration(format!(
                    "could not set up the HTTP client: {}",
                    lowest_cause(&err)
                ))
            })?;
        let rate_limit = config.requests_per_second.and_then(ClientRateLimit::new);
        Ok(HttpClient {
            inner: Arc::new(Inner {
                plugin,
                client,
                base_url,
                secret_url: config.base_url.secret,
                auth,
                policy: RetryPolicy {
                    max_retries: config.max_retries,
                    initial_backoff: config.initial_backoff,
                    max_backoff: config.max_backoff,
                    max_retry_wait: config.max_retry_wait,
                },
                request_timeout: config.request_timeout,
                rate_limit,
                redactor: Arc::new(redactor),
                error_mapper: config.error_mapper,
            }),
        })
    }

    /// A request of `method` to `path` (joined to the base URL; empty for
    /// the base URL itself), made for the plugin action `operation`.
    pub(crate) fn request(&self, operation: &str, method: Method, path: &str) -> HttpRequest {
        HttpRequest {
            client: self.clone(),
            operation: operation.to_owned(),
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Ok(None),
            idempotent: None,
            max_retries: None,
            timeout: None,
        }
    }

    /// A GET request.
    pub(crate) fn get(&self, operation: &str, path: &str) -> HttpRequest {
        self.request(operation, Method::GET, path)
    }

    /// A POST request.
    pub(crate) fn post(&self, operation: &str, path: &str) -> HttpRequest {
        self.request(operation, Method::POST, path)
    }

    /// What this client cuts from messages.
    #[allow(dead_code)] // For plugins quoting service text in their own errors.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }
}

fn auth_header(auth: &Auth) -> Result<AuthHeader> {
    let sensitive = |value: String, what: &str| -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            // Never quote the value: it is the credential.
            Error::configuration(format!(
                "the {what} holds characters an HTTP header cannot carry (a line break?)"
            ))
        })?;
        value.set_sensitive(true);
        Ok(value)
    };
    Ok(match auth {
        Auth::None => AuthHeader::None,
        Auth::Bearer(token) => AuthHeader::Header(
            reqwest::header::AUTHORIZATION,
            sensitive(format!("Bearer {}", token.expose()), "API token")?,
        ),
        Auth::Header { name, value } => {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::configuration(format!("`{name}` is not a valid HTTP header name"))
            })?;
            AuthHeader::Header(name, sensitive(value.expose().to_owned(), "API key")?)
        }
        Auth::Basic { user, password } => AuthHeader::Basic {
            user: user.clone(),
            password: password.clone(),
        },
    })
}

/// One call: built with the methods below, sent with [`HttpRequest::send`]
/// or [`HttpRequest::send_json`]. Not `Debug`: its query may hold tokens.
pub(crate) struct HttpRequest {
    client: HttpClient,
    operation: String,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    /// The encoded JSON body, or why it could not be encoded.
    body: std::result::Result<Option<Vec<u8>>, String>,
    idempotent: Option<bool>,
    max_retries: Option<u32>,
    timeout: Option<Duration>,
}

impl HttpRequest {
    /// Adds a query parameter (never logged).
    pub(crate) fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header to this request only. Not for credentials: those go in
    /// the client's [`Auth`].
    #[allow(dead_code)] // For per-request headers such as idempotency keys.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), value);
        }
        self
    }

    /// Sends `body` as JSON.
    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = serde_json::to_vec(body)
            .map(Some)
            .map_err(|err| err.to_string());
        self
    }

    /// Marks the request safe to repeat whatever happened to an earlier
    /// attempt, so 5xx answers, timeouts and dropped connections are
    /// retried as for a GET. Say why at the call site.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = Some(true);
        self
    }

    /// Overrides the client's retries for this request (0 for one attempt,
    /// as a health check wants).
    pub(crate) fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Overrides the client's request timeout for this request.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and decodes a 2xx answer's JSON body.
    pub(crate) async fn send_json<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.json()
    }

    /// Sends the request, retrying as the policy says; a 2xx answer, or the
    /// mapped error.
    pub(crate) async fn send(self) -> Result<HttpResponse> {
        let inner = Arc::clone(&self.client.inner);
        let url = self.url();
        let info = RequestInfo {
            plugin: inner.plugin.clone(),
            operation: self.operation.clone(),
            method: self.method.to_string(),
            url: loggable_url(&url, inner.secret_url, &inner.redactor),
        };
        let body = match &self.body {
            Ok(body) => body.clone(),
            Err(problem) => {
                let err = transport_error(
                    &info,
                    Transport::Build,
                    &format!("the body could not be encoded as JSON: {problem}"),
                    inner.request_timeout,
                    &inner.redactor,
                    0,
                );
                return Err(err);
            }
        };
        let idempotent = self
            .idempotent
            .unwrap_or_else(|| is_idempotent_method(&self.method));
        let policy = RetryPolicy {
            max_retries: self.max_retries.unwrap_or(inner.policy.max_retries),
            ..inner.policy
        };
        let timeout = self.timeout.unwrap_or(inner.request_timeout);
        // Whether an earlier attempt may have reached the service, which
        // makes the whole call's outcome uncertain whatever the last says.
        let mut maybe_delivered = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if let Some(limit) = &inner.rate_limit {
                limit.wait().await;
            }
            let request = self.build(&inner, &url, body.clone(), timeout);
            let started = Instant::now();
            let outcome = match request {
                Ok(request) => match inner.client.execute(request).await {
                    Ok(response) => read(response).await,
                    Err(err) => Err(classify(&err)),
                },
                Err(err) => Err((Transport::Build, lowest_cause(&err))),
            };
            let latency_ms = started.elapsed().as_millis() as u64;
            let (failure, result) = match outcome {
                Ok((status, headers, bytes)) => {
                    tracing::debug!(
                        plugin = %info.plugin,
                        operation = %info.operation,
                        method = %info.method,
                        url = %info.url,
                        status = status.as_u16(),
                        latency_ms,
                        attempt,
                        "HTTP request"
                    );
                    if status.is_success() {
                        return Ok(HttpResponse {
                            status,
                            headers,
                            body: bytes,
                            info,
                            redactor: Arc::clone(&inner.redactor),
                        });
                    }
                    let delay = retry_after(&headers, chrono::Utc::now());
                    let failure = Failure::Status {
                        status: status.as_u16(),
                        retry_after: delay,
                    };
                    let answer = Answer {
                        status,
                        headers: &headers,
                        body: &bytes,
                    };
                    let mut err = status_error(
                        &info,
                        answer,
                        delay,
                        &inner.redactor,
                        inner.error_mapper,
                        attempt,
                    );
                    if maybe_delivered {
                        err = uncertain(err, &info, attempt);
                    }
                    (failure, err)
                }
                Err((transport, detail)) => {
                    tracing::debug!(
                        plugin = %info.plugin,
                        operation = %info.operation,
                        method = %info.method,
                        url = %info.url,
                        error = %inner.redactor.redact(&detail),
                        latency_ms,
                        attempt,
                        "HTTP request got no answer"
                    );
                    let failure = match transport {
                        Transport::Connect => Failure::Connect,
                        Transport::Timeout => Failure::Timeout,
                        Transport::Dropped => Failure::Dropped,
                        Transport::Build => {
                            return Err(transport_error(
                                &info,
                                transport,
                                &detail,
                                timeout,
                                &inner.redactor,
                                attempt,
                            ));
                        }
                    };
                    let mut err = transport_error(
                        &info,
                        transport,
                        &detail,
                        timeout,
                        &inner.redactor,
                        attempt,
                    );
                    if maybe_delivered {
                        err = uncertain(err, &info, attempt);
                    }
                    (failure, err)
                }
            };
            if matches!(failure, Failure::Timeout | Failure::Dropped) {
                maybe_delivered = true;
            }
            match policy.decide(failure, idempotent, attempt - 1, rand::random::<f64>()) {
                Decision::Retry(delay) => {
                    tracing::info!(
                        plugin = %info.plugin,
                        operation = %info.operation,
                        method = %info.method,
                        url = %info.url,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying after: {}",
                        result.message()
                    );
                    tokio::time::sleep(delay).await;
                }
                Decision::GiveUp => return Err(result),
            }
        }
    }

    /// The full URL: base, path, query.
    fn url(&self) -> Url {
        let mut url = self.client.inner.base_url.clone();
        let path = self.path.trim_start_matches('/');
        if !path.is_empty() {
            let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
            url.set_path(&joined);
        }
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    fn build(
        &self,
        inner: &Inner,
        url: &Url,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> reqwest::Result<reqwest::Request> {
        let mut builder = inner
            .client
            .request(self.method.clone(), url.clone())
            .timeout(timeout)
            .headers(self.headers.clone());
        builder = match &inner.auth {
            AuthHeader::None => builder,
            AuthHeader::Header(name, value) => builder.header(name.clone(), value.clone()),
            AuthHeader::Basic { user, password } => {
                builder.basic_auth(user, Some(password.expose()))
            }
        };
        if let Some(body) = body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body);
        }
        builder.build()
    }
}

/// Marks an error whose request may have reached the service in an earlier
/// attempt.
fn uncertain(err: Error, info: &RequestInfo, attempts: u32) -> Error {
    let kind = err.kind();
    let retry_after = err.retry_after();
    let mut again = Error::new(kind, err.message().to_owned())
        .with_source(super::errors::HttpFailure {
            delivery: Delivery::Unknown,
            attempts,
        })
        .in_call(&info.plugin, &info.operation);
    if let Some(after) = retry_after {
        again = again.with_retry_after(after);
    }
    again
}

/// Methods that mean the same thing however often they are sent.
fn is_idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Reads a whole answer; a failure while reading the body is a transport
/// failure (the status line arrived, the rest did not).
async fn read(
    response: reqwest::Response,
) -> std::result::Result<(reqwest::StatusCode, HeaderMap, Vec<u8>), (Transport, String)> {
    let status = response.status();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(bytes) => Ok((status, headers, bytes.to_vec())),
        Err(err) => Err(classify(&err)),
    }
}

/// Which transport failure a client error is, with its lowest cause's
/// words.
fn classify(err: &reqwest::Error) -> (Transport, String) {
    let detail = lowest_cause(err);
    // A connect timeout is a connect failure: nothing was sent.
    let transport = if err.is_connect() {
        Transport::Connect
    } else if err.is_timeout() {
        Transport::Timeout
    } else if err.is_builder() {
        Transport::Build
    } else {
        Transport::Dropped
    };
    (transport, detail)
}

/// The innermost cause's message. The client library's own message quotes
/// the URL, which may hold a token, so it is never used; the causes below
/// it (an I/O error, "connection closed before message completed") do not.
fn lowest_cause(err: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut last = None;
    while let Some(current) = cause {
        last = Some(current.to_string());
        cause = current.source();
    }
    last.unwrap_or_else(|| {
        if err.is_timeout() {
            "timed out".to_owned()
        } else {
            "no further detail".to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::Secret;

    fn client(base: &str) -> HttpClient {
        HttpClient::new(HttpConfig::new("test", base)).unwrap()
    }

    #[test]
    fn paths_join_base_urls_with_or_without_a_version_suffix() {
        let url = client("https://api.openai.com/v1")
            .post("x", "chat/completions")
            .url();
        assert_eq!(url.as_str(), "https://api.openai.com/v1/chat/completions");
        let url = client("http://localhost:11434/v1/")
            .post("x", "/chat/completions")
            .url();
        assert_eq!(url.as_str(), "http://localhost:11434/v1/chat/completions");
        let url = client("https://api.anthropic.com")
            .post("x", "v1/messages")
            .url();
        assert_eq!(url.as_str(), "https://api.anthropic.com/v1/messages");
    }

    #[test]
    fn an_empty_path_keeps_the_base_url_and_its_query() {
        let url = client("https://discord.com/api/webhooks/1/tok?thread_id=9")
            .post("x", "")
            .query("wait", "true")
            .url();
        assert_eq!(
            url.as_str(),
            "https://discord.com/api/webhooks/1/tok?thread_id=9&wait=true"
        );
    }

    #[test]
    fn bad_configurations_are_configuration_errors_without_secrets() {
        let err = HttpClient::new(HttpConfig::with_secret_url(
            "webhook",
            &Secret::new("not a url with-token-123"),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), aido_plugin_api::ErrorKind::Configuration);
        assert!(!err.to_string().contains("with-token-123"), "{err}");
        let err = HttpClient::new(
            HttpConfig::new("x", "https://example.com").auth(Auth::Bearer(Secret::new("a\nb"))),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("a\nb"), "{err}");
    }

    #[test]
    fn debug_shows_neither_credentials_nor_a_secret_url() {
        let url = Secret::new("https://hooks.example.com/services/T1/B2/tok3nValue99");
        let client = HttpClient::new(
            HttpConfig::with_secret_url("webhook", &url)
                .auth(Auth::Bearer(Secret::new("bearer-xyz"))),
        )
        .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("tok3nValue99"), "{debug}");
        assert!(!debug.contains("bearer-xyz"), "{debug}");
        assert!(
            debug.contains("https://hooks.example.com/[redacted]"),
            "{debug}"
        );
    }

    #[test]
    fn only_safe_methods_are_idempotent_by_default() {
        assert!(is_idempotent_method(&Method::GET));
        assert!(is_idempotent_method(&Method::PUT));
        assert!(!is_idempotent_method(&Method::POST));
        assert!(!is_idempotent_method(&Method::PATCH));
    }
}
