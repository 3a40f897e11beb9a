//! GraphQL over the shared HTTP layer: the documents the plugin sends, the
//! `{data, errors}` envelope, and Linear's errors in the taxonomy.
//!
//! Linear reports failures in two ways, both mapped here:
//!
//! - GraphQL errors in a 200 answer (`{"data": null, "errors": [...]}`),
//!   read by [`map_graphql_error`] from `extensions.type` (the values
//!   Linear's SDK knows: `authentication error`, `forbidden`,
//!   `ratelimited`, `invalid input`, ...) and `extensions.code`
//!   (`RATELIMITED`, `AUTHENTICATION_ERROR`, `ENTITY_NOT_FOUND`).
//! - An error status: 401 for a refused key, 5xx, 429, and, as Linear's
//!   rate-limiting documentation says, **HTTP 400 with `extensions.code:
//!   RATELIMITED`** (also 400 for invalid documents). The HTTP layer hands
//!   each such answer's parsed body to [`map_http_error`], which takes the
//!   kind from the first error's `extensions.code`/`type` (so a 400 can be
//!   rate limited or an authentication failure) and quotes `CODE:
//!   message`.
//!
//! Queries are marked idempotent (retried on 5xx, timeouts and dropped
//! connections); mutations are not. A rate-limited call of either kind is
//! retried, since Linear refused it before acting, after a backoff that
//! doubles from `options.retry_backoff_ms`.

use std::time::Duration;

use aido_plugin_api::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::http::{Delivery, FailedResponse, HttpClient, ServiceError, delivery_of};

/// The fields of an issue the plugin reads.
macro_rules! issue_fields {
    () => {
        "id identifier number title description priority estimate dueDate url createdAt \
         updatedAt state { id name type } team { id key } assignee { id name email } \
         labels { nodes { id name } } project { id name } parent { id identifier }"
    };
}

/// The key's owner: a cheap check of the key.
pub(super) const VIEWER: &str = "query Viewer { viewer { id name email } }";

/// Every team (for a configured team key).
pub(super) const TEAMS: &str = "query Teams { teams(first: 250) { nodes { id key name } } }";

/// Every user (for assignment by email or name).
pub(super) const USERS: &str =
    "query Users { users(first: 250) { nodes { id name displayName email } } }";

/// A team's workflow states.
pub(super) const WORKFLOW_STATES: &str = "query WorkflowStates($teamId: ID!) { \
     workflowStates(filter: { team: { id: { eq: $teamId } } }, first: 250) { \
     nodes { id name type position } } }";

/// Every label (for labels by name).
pub(super) const ISSUE_LABELS: &str =
    "query IssueLabels { issueLabels(first: 250) { nodes { id name } } }";

/// One issue, by UUID or identifier.
pub(super) const ISSUE: &str = concat!(
    "query Issue($id: String!) { issue(id: $id) { ",
    issue_fields!(),
    " } }"
);

/// An issue's comments.
pub(super) const ISSUE_COMMENTS: &str = "query IssueComments($id: String!) { issue(id: $id) { \
     id identifier comments(first: 250) { nodes { id body createdAt user { name email } } } } }";

/// An issue's history and comments, for `get_task_history`.
pub(super) const ISSUE_HISTORY: &str = "query IssueHistory($id: String!) { issue(id: $id) { \
     id identifier createdAt \
     history(first: 250) { nodes { id createdAt actor { name email } \
     fromState { name type } toState { name type } \
     fromAssignee { name email } toAssignee { name email } } } \
     comments(first: 250) { nodes { id createdAt user { name email } } } } }";

/// One page of issues.
pub(super) const ISSUES: &str = concat!(
    "query Issues($filter: IssueFilter, $first: Int, $after: String) { ",
    "issues(filter: $filter, first: $first, after: $after) { nodes { ",
    issue_fields!(),
    " } pageInfo { hasNextPage endCursor } } }"
);

/// Creates an issue.
pub(super) const ISSUE_CREATE: &str = concat!(
    "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) { ",
    "success issue { ",
    issue_fields!(),
    " } } }"
);

/// Updates an issue.
pub(super) const ISSUE_UPDATE: &str = concat!(
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) { ",
    "issueUpdate(id: $id, input: $input) { success issue { ",
    issue_fields!(),
    " } } }"
);

/// Adds a comment.
pub(super) const COMMENT_CREATE: &str = "mutation CommentCreate($input: CommentCreateInput!) { \
     commentCreate(input: $input) { success comment { id body createdAt user { name email } } } }";

/// Creates a label.
pub(super) const ISSUE_LABEL_CREATE: &str = "mutation IssueLabelCreate($input: IssueLabelCreateInput!) { \
     issueLabelCreate(input: $input) { success issueLabel { id name } } }";

/// Creates a project (aido's epic).
pub(super) const PROJECT_CREATE: &str = "mutation ProjectCreate($input: ProjectCreateInput!) { \
     projectCreate(input: $input) { success project { id name description url createdAt } } }";

/// The GraphQL answer envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

/// One GraphQL error as Linear sends it.
#[derive(Debug, Deserialize)]
pub(super) struct GraphqlError {
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) extensions: Extensions,
}

/// Linear's error extensions.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Extensions {
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) code: Option<String>,
    #[serde(default)]
    pub(super) user_presentable_message: Option<String>,
}

/// The taxonomy's error for a GraphQL error in a 200 answer.
pub(super) fn map_graphql_error(error: &GraphqlError) -> Error {
    let message = format!("Linear answered: {}", words_of(error));
    match kind_of(error) {
        Some(ErrorKind::RateLimited) => Error::rate_limited(message, None),
        Some(ErrorKind::Authentication) if error_is_forbidden(error) => Error::authentication(
            format!("{message} (the key may not reach this team or issue)"),
        ),
        Some(ErrorKind::Authentication) => {
            Error::authentication(format!("{message}; check connection.api_key"))
        }
        Some(kind) => Error::new(kind, message),
        None => Error::other(message),
    }
}

/// Whether Linear refused the key this resource rather than the key.
fn error_is_forbidden(error: &GraphqlError) -> bool {
    error
        .extensions
        .kind
        .as_deref()
        .unwrap_or("")
        .eq_ignore_ascii_case("forbidden")
        || error
            .extensions
            .code
            .as_deref()
            .unwrap_or("")
            .eq_ignore_ascii_case("FORBIDDEN")
}

/// The kind a GraphQL error's extensions and message name, if any.
fn kind_of(error: &GraphqlError) -> Option<ErrorKind> {
    let kind = error
        .extensions
        .kind
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let code = error
        .extensions
        .code
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    Some(if code == "RATELIMITED" || kind == "ratelimited" {
        ErrorKind::RateLimited
    } else if code == "AUTHENTICATION_ERROR"
        || kind == "authentication error"
        || kind == "forbidden"
        || code == "FORBIDDEN"
    {
        ErrorKind::Authentication
    } else if code == "ENTITY_NOT_FOUND" || error.message.starts_with("Entity not found") {
        ErrorKind::NotFound
    } else if matches!(
        kind.as_str(),
        "invalid input" | "user error" | "graphql error"
    ) || code == "INVALID_INPUT"
        || code == "GRAPHQL_VALIDATION_FAILED"
    {
        ErrorKind::InvalidInput
    } else if matches!(
        kind.as_str(),
        "internal error" | "network error" | "lock timeout"
    ) {
        ErrorKind::Connection
    } else {
        return None;
    })
}

/// The words of a GraphQL error: the text Linear meant for people when it
/// has one, else its message.
fn words_of(error: &GraphqlError) -> &str {
    error
        .extensions
        .user_presentable_message
        .as_deref()
        .filter(|text| !text.is_empty())
        .unwrap_or(&error.message)
}

/// Reads Linear's error answers for the HTTP layer: a 401, and the HTTP 400
/// Linear sends for rate limits (`extensions.code: RATELIMITED`), some
/// authentication failures and invalid documents, carry a GraphQL `errors`
/// list whose first entry's code decides the kind and whose message is
/// quoted (`CODE: message`).
pub(super) fn map_http_error(failed: &FailedResponse<'_>) -> ServiceError {
    let first = failed
        .json
        .as_ref()
        .and_then(|json| json.get("errors"))
        .and_then(|errors| errors.get(0))
        .and_then(|first| serde_json::from_value::<GraphqlError>(first.clone()).ok());
    let Some(first) = first else {
        return ServiceError::default();
    };
    let kind = kind_of(&first);
    let words = words_of(&first);
    let detail = match first.extensions.code.as_deref() {
        Some(code) if !code.is_empty() => format!("{code}: {words}"),
        _ => words.to_owned(),
    };
    let hint = match kind {
        Some(ErrorKind::Authentication) => "; check connection.api_key",
        _ => "",
    };
    ServiceError {
        kind,
        detail: Some(format!("{detail}{hint}")),
    }
}

/// Runs GraphQL operations against Linear.
#[derive(Debug, Clone)]
pub(super) struct Graphql {
    pub(super) client: HttpClient,
    pub(super) max_retries: u32,
    pub(super) backoff: Duration,
}

impl Graphql {
    /// Runs a query (safe to repeat) for the action `operation`.
    pub(super) async fn query<T: DeserializeOwned>(
        &self,
        operation: &str,
        document: &str,
        variables: Value,
    ) -> Result<T> {
        self.run(operation, document, variables, true).await
    }

    /// Runs a mutation (never repeated after it may have arrived).
    pub(super) async fn mutate<T: DeserializeOwned>(
        &self,
        operation: &str,
        document: &str,
        variables: Value,
    ) -> Result<T> {
        self.run(operation, document, variables, false).await
    }

    async fn run<T: DeserializeOwned>(
        &self,
        operation: &str,
        document: &str,
        variables: Value,
        idempotent: bool,
    ) -> Result<T> {
        let body = json!({"query": document, "variables": variables});
        let mut retries = 0u32;
        loop {
            match self.once(operation, &body, idempotent).await {
                Err(Failed { error, retry_here }) if retry_here && retries < self.max_retries => {
                    let delay = self.backoff.saturating_mul(2u32.saturating_pow(retries));
                    tracing::info!(
                        plugin = "linear",
                        operation,
                        delay_ms = delay.as_millis() as u64,
                        "retrying after: {}",
                        error.message()
                    );
                    retries += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(Failed { error, .. }) => return Err(error.in_call("linear", operation)),
                Ok(data) => {
                    return serde_json::from_value(data).map_err(|err| {
                        Error::invalid_response(format!(
                            "Linear's answer to {operation} does not have the expected shape \
                             ({})",
                            describe(&err)
                        ))
                        .in_call("linear", operation)
                    });
                }
            }
        }
    }

    /// One request: its `data`, or the mapped error.
    async fn once(
        &self,
        operation: &str,
        body: &Value,
        idempotent: bool,
    ) -> std::result::Result<Value, Failed> {
        let mut request = self.client.post(operation, "graphql").json(body);
        if idempotent {
            // A query changes nothing, so repeating it is safe.
            request = request.idempotent();
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                // A 429 was already waited out by the HTTP layer; only a
                // rate limit Linear answered as HTTP 400 (read by
                // `map_http_error`) is retried here.
                let layer_retried = delivery_of(&err) == Some(Delivery::Answered(429));
                let retry_here = !layer_retried && err.kind() == ErrorKind::RateLimited;
                return Err(Failed {
                    error: err,
                    retry_here,
                });
            }
        };
        let envelope: Envelope = response.json().map_err(Failed::once)?;
        if let Some(first) = envelope.errors.first() {
            let error = map_graphql_error(first);
            let retry_here = error.kind() == ErrorKind::RateLimited;
            return Err(Failed { error, retry_here });
        }
        envelope.data.filter(|data| !data.is_null()).ok_or_else(|| {
            Failed::once(Error::invalid_response(format!(
                "Linear's answer to {operation} has neither data nor errors"
            )))
        })
    }
}

/// A failed request, and whether [`Graphql::run`] should try it again.
struct Failed {
    error: Error,
    retry_here: bool,
}

impl Failed {
    fn once(error: Error) -> Failed {
        Failed {
            error,
            retry_here: false,
        }
    }
}

/// Serde's words about a shape mismatch, without quoting values.
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    text.split(" at line").next().unwrap_or("").to_owned()
}
