//! What an [`HttpClient`](super::HttpClient) is built from: [`HttpConfig`]
//! and [`Auth`].

use std::fmt;
use std::time::Duration;

use aido_plugin_api::{ConfigProblem, Secret};
use reqwest::Url;

use super::failed::ErrorMapper;

/// How requests prove who is asking.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// No credentials (local servers such as Ollama).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// A header of the service's own, such as Anthropic's `x-api-key`.
    Header {
        /// The header's name.
        name: String,
        /// Its value.
        value: Secret,
    },
    /// HTTP Basic authentication.
    #[allow(dead_code)] // For Jira and Confluence (user + API token); tested here.
    Basic {
        /// The user name (not secret).
        user: String,
        /// The password or API token.
        password: Secret,
    },
}

impl Auth {
    /// The secrets this authentication holds, for redaction.
    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        match self {
            Auth::None => Vec::new(),
            Auth::Bearer(token) => vec![token],
            Auth::Header { value, .. } => vec![value],
            Auth::Basic { password, .. } => vec![password],
        }
    }
}

/// A service's base URL, which may itself be a secret (an incoming-webhook
/// URL embeds its token).
#[derive(Clone)]
pub(crate) struct BaseUrl {
    /// The parsed URL, or the text that failed to parse.
    pub(crate) raw: String,
    /// Whether the URL must never be shown.
    pub(crate) secret: bool,
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("[redacted]")
        } else {
            write!(f, "{:?}", self.raw)
        }
    }
}

/// Timeouts, retries and the rate limit of one service's client.
#[derive(Clone, Debug)]
pub(crate) struct HttpConfig {
    /// The plugin that makes the calls, named in errors and traces.
    pub(crate) plugin: String,
    /// What every request path is joined to.
    pub(crate) base_url: BaseUrl,
    /// The credentials.
    pub(crate) auth: Auth,
    /// How long establishing a connection may take.
    pub(crate) connect_timeout: Duration,
    /// How long one attempt may take, from sending to the last byte of the
    /// answer.
    pub(crate) request_timeout: Duration,
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// The first backoff delay; it doubles on every retry.
    pub(crate) initial_backoff: Duration,
    /// The longest backoff delay.
    pub(crate) max_backoff: Duration,
    /// The longest `Retry-After` the client waits out itself; a longer one
    /// is returned as a rate-limit error carrying the delay, so the engine
    /// can schedule the step instead of holding a connection.
    pub(crate) max_retry_wait: Duration,
    /// At most this many requests per second, when set.
    pub(crate) requests_per_second: Option<f64>,
    /// The `User-Agent` header.
    pub(crate) user_agent: String,
    /// Headers sent with every request (never secrets: use [`Auth`]).
    pub(crate) headers: Vec<(String, String)>,
    /// More values to cut from error messages (a token in a URL path).
    pub(crate) extra_secrets: Vec<Secret>,
    /// The plugin's own reading of its service's error answers.
    pub(crate) error_mapper: Option<ErrorMapper>,
}

/// The connect timeout unless configured.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The request timeout unless configured.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries unless configured: two, as the official Anthropic and OpenAI
/// SDKs do.
const DEFAULT_MAX_RETRIES: u32 = 2;
/// The first backoff delay, as the official SDKs use.
const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// The longest backoff delay, as the official SDKs use.
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest `Retry-After` waited out in-process.
const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

impl HttpConfig {
    /// A configuration for `plugin` calling the service at `base_url`.
    pub(crate) fn new(plugin: &str, base_url: &str) -> Self {
        HttpConfig::with_base_url(
            plugin,
            BaseUrl {
                raw: base_url.to_owned(),
                secret: false,
            },
        )
    }

    /// A configuration whose base URL is a secret: it is never logged nor
    /// quoted in an error, and its path and query are redacted everywhere.
    pub(crate) fn with_secret_url(plugin: &str, url: &Secret) -> Self {
        let mut config = HttpConfig::with_base_url(
            plugin,
            BaseUrl {
                raw: url.expose().to_owned(),
                secret: true,
            },
        );
        config.extra_secrets.push(url.clone());
        config
    }

    fn with_base_url(plugin: &str, base_url: BaseUrl) -> Self {
        HttpConfig {
            plugin: plugin.to_owned(),
            base_url,
            auth: Auth::None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            requests_per_second: None,
            user_agent: format!("aido/{}", env!("CARGO_PKG_VERSION")),
            headers: Vec::new(),
            extra_secrets: Vec::new(),
            error_mapper: None,
        }
    }

    /// Sets the credentials.
    pub(crate) fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the connect timeout and the per-attempt request timeout.
    pub(crate) fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Sets how many times a failed request is tried again.
    pub(crate) fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the first and the longest backoff delay.
    #[allow(dead_code)] // Kept for services with their own published backoff.
    pub(crate) fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Limits requests to `per_second` (fractions allowed: 0.5 is one
    /// request every two seconds); `None` for no limit.
    pub(crate) fn rate_limit(mut self, per_second: Option<f64>) -> Self {
        self.requests_per_second = per_second;
        self
    }

    /// Adds a header sent with every request. Never a secret: credentials
    /// go in [`Auth`], which marks them sensitive and redacts them.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Reads the service's error answers with `mapper` (see
    /// [`super::failed`]): the kind and the words of each error status's
    /// error, where the service's own codes say more than the status.
    pub(crate) fn error_mapper(mut self, mapper: ErrorMapper) -> Self {
        self.error_mapper = Some(mapper);
        self
    }

    /// Adds a value to cut from every error message.
    #[allow(dead_code)] // For services whose tokens travel outside `Auth`.
    pub(crate) fn redact(mut self, secret: Secret) -> Self {
        self.extra_secrets.push(secret);
        self
    }
}

/// Parses a base URL: absolute, `http` or `https`.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|err| err.to_string())?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(url),
        "http" | "https" => Err("it has no host".to_owned()),
        other => Err(format!("its scheme is `{other}`, not http or https")),
    }
}

/// Checks a configured base URL for a plugin's `validate_config`, naming
/// its key; a secret URL is never quoted.
pub(crate) fn check_base_url(path: &str, raw: &str, secret: bool) -> Option<ConfigProblem> {
    let problem = parse_base_url(raw).err()?;
    let message = if secret {
        format!("is not a valid http(s) URL ({problem})")
    } else {
        format!("`{raw}` is not a valid http(s) URL ({problem})")
    };
    Some(ConfigProblem::new(path, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_absolute_http() {
        assert!(parse_base_url("https://api.anthropic.com").is_ok());
        assert!(parse_base_url("http://localhost:11434/v1").is_ok());
        assert!(parse_base_url("ftp://example.com").is_err());
        assert!(parse_base_url("api.openai.com/v1").is_err());
    }

    #[test]
    fn secret_urls_are_never_quoted() {
        let problem = check_base_url("connection.url", "hooks.slack.com/T1/B2/sekrit", true)
            .expect("a relative URL is a problem");
        assert!(!problem.message.contains("sekrit"), "{}", problem.message);
        let config = HttpConfig::with_secret_url("webhook", &Secret::new("https://h/x/sekrit"));
        assert!(!format!("{config:?}").contains("sekrit"));
    }

    #[test]
    fn user_agent_names_aido_and_its_version() {
        let config = HttpConfig::new("x", "https://example.com");
        assert_eq!(
            config.user_agent,
            format!("aido/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
