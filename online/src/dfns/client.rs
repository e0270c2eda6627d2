//! The HTTP side of the Dfns API client: base URL policy, the agent, retries.
//!
//! Policy (`dfns-key-export.md` §1, `dfns-auth.md` "Base URL and headers"):
//! HTTPS only, except plain http to a loopback address (the sandbox); redirects are
//! never followed (the bearer token must not travel to another URL); connect and read
//! timeouts; a User-Agent naming the tool; every status's body is read so Dfns' message
//! can be shown. Transient failures of repeatable calls are retried a bounded number
//! of times with backoff, honouring `Retry-After`; the export is sent exactly once.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::errors::{ApiError, ApiErrorKind, Call};

/// Idle connections kept for repeatable calls (a batch runs at most a few dozen workers).
const POOLED_CONNECTIONS: usize = 32;

/// The largest response body read (an export of many shares is a few kilobytes).
const MAX_BODY: u64 = 1 << 20;

/// Why a base URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// Not a URL.
    #[error("the API URL {0:?} is not a valid URL")]
    Invalid(String),
    /// Plain http to a non-loopback host, or another scheme.
    #[error(
        "the API URL {0:?} is not https: plain http is allowed only to a loopback address \
         (the sandbox)"
    )]
    NotHttps(String),
    /// Query, fragment or credentials in the URL.
    #[error("the API URL {0:?} must not contain credentials, a query or a fragment")]
    Extra(String),
}

/// A validated API base URL: `https://host[:port][/prefix]` or `http://loopback[:port][/prefix]`,
/// without trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: String,
    loopback: bool,
}

impl BaseUrl {
    /// Parses and checks a base URL.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let text = text.trim();
        let uri: ureq::http::Uri = text
            .parse()
            .map_err(|_| UrlError::Invalid(text.to_owned()))?;
        let authority = uri
            .authority()
            .ok_or_else(|| UrlError::Invalid(text.to_owned()))?;
        if authority.as_str().contains('@') || uri.query().is_some() || text.contains('#') {
            return Err(UrlError::Extra(text.to_owned()));
        }
        let host = authority.host();
        let loopback = is_loopback(host);
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            Some("http") => return Err(UrlError::NotHttps(text.to_owned())),
            _ => return Err(UrlError::Invalid(text.to_owned())),
        }
        Ok(BaseUrl {
            url: text.trim_end_matches('/').to_owned(),
            loopback,
        })
    }

    /// The full URL of an API path (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Whether the host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A Dfns bearer token. Never printed.
#[derive(Clone)]
pub struct AuthToken(Zeroizing<String>);

impl AuthToken {
    /// Wraps a token; `None` if it is empty after trimming.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| AuthToken(Zeroizing::new(token.to_owned())))
    }

    fn header(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.0.as_str()))
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// How often and how patiently repeatable calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, first included.
    pub attempts: u32,
    /// Backoff before the second attempt; doubled each time.
    pub base_delay: Duration,
    /// Upper bound of the computed backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2, 3, …) after `error`, or `None` to stop.
    pub fn delay(&self, next: u32, error: &ApiError) -> Option<Duration> {
        if next > self.attempts || !error.call.is_repeatable() || !error.is_transient() {
            return None;
        }
        match error.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => {
                let factor = 1u32 << (next.saturating_sub(2)).min(16);
                Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
            }
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// DNS + TCP + TLS.
    pub connect: Duration,
    /// Sending the request and receiving the whole response.
    pub exchange: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            exchange: Duration::from_secs(60),
        }
    }
}

/// A retry about to happen, for the binary to tell the operator.
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// The failure being retried.
    pub error: &'a ApiError,
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The number of the next attempt.
    pub next_attempt: u32,
    /// The total attempts allowed.
    pub attempts: u32,
}

/// The status and body of one HTTP exchange.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body, as received.
    pub body: Vec<u8>,
    retry_after: Option<Duration>,
    location: Option<String>,
}

impl Reply {
    /// Turns any non-2xx reply into a classified error.
    pub fn into_error(self, call: Call) -> ApiError {
        ApiError::from_status(
            call,
            self.status,
            &self.body,
            self.retry_after,
            self.location,
        )
    }

    /// Parses a 200 body as JSON of type `T`, classifying other statuses as errors.
    pub fn json<T: for<'de> Deserialize<'de>>(self, call: Call) -> Result<T, ApiError> {
        if self.status != 200 {
            return Err(self.into_error(call));
        }
        serde_json::from_slice(&self.body).map_err(|e| ApiError {
            call,
            kind: ApiErrorKind::InvalidResponse(e.to_string()),
        })
    }
}

/// What the client calls before each retry's wait (shared by a batch's workers).
pub type OnRetry = Box<dyn Fn(&RetryNotice<'_>) + Send + Sync>;

/// The client: two agents, one base URL, one token.
pub struct DfnsClient {
    /// Repeatable calls: keeps connections open between calls.
    agent: ureq::Agent,
    /// The export: a fresh connection every time.
    export_agent: ureq::Agent,
    base: BaseUrl,
    token: AuthToken,
    retry: RetryPolicy,
    on_retry: OnRetry,
}

impl fmt::Debug for DfnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DfnsClient")
            .field("base", &self.base)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// The User-Agent sent on every request.
pub fn user_agent() -> String {
    format!("keyexport-online/{}", env!("CARGO_PKG_VERSION"))
}

impl DfnsClient {
    /// Builds a client. `on_retry` is told about each retry before its wait.
    /// Calls go through `proxy` when given, and through no proxy otherwise (never one
    /// picked from the environment).
    pub fn new(
        base: BaseUrl,
        token: AuthToken,
        timeouts: Timeouts,
        proxy: Option<ureq::Proxy>,
        retry: RetryPolicy,
        on_retry: OnRetry,
    ) -> Self {
        let agent = |pooled: bool| -> ureq::Agent {
            let idle = if pooled { POOLED_CONNECTIONS } else { 0 };
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .https_only(!base.is_loopback())
                .user_agent(user_agent())
                .timeout_connect(Some(timeouts.connect))
                .timeout_per_call(Some(timeouts.exchange))
                .max_idle_connections(idle)
                .max_idle_connections_per_host(idle)
                // ureq would otherwise take a proxy from ALL_PROXY/HTTPS_PROXY/HTTP_PROXY.
                .proxy(proxy.clone());
            config.build().into()
        };
        DfnsClient {
            // Repeatable calls reuse connections (ureq probes an idle one before reusing
            // it; a server that closes it at the wrong moment costs a retry, nothing more).
            agent: agent(true),
            // The export gets a fresh connection: a pooled one that the server closed
            // while the request was on its way would turn the one-shot export into an
            // uncertain failure.
            export_agent: agent(false),
            base,
            token,
            retry,
            on_retry,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The agent for `call`: pooled connections for repeatable calls only.
    fn agent_for(&self, call: &Call) -> &ureq::Agent {
        if call.is_repeatable() {
            &self.agent
        } else {
            &self.export_agent
        }
    }

    /// One GET, no retry.
    pub fn get(&self, call: &Call, path: &str) -> Result<Reply, ApiError> {
        let response = self
            .agent_for(call)
            .get(self.base.join(path))
            .header("Authorization", self.token.header().as_str())
            .call()
            .map_err(|e| ApiError::from_transport(call.clone(), &e))?;
        read_reply(call, response)
    }

    /// One POST of exactly `body`, no retry. `user_action` adds `X-DFNS-USERACTION`.
    pub fn post(
        &self,
        call: &Call,
        path: &str,
        body: &[u8],
        user_action: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let request = self.agent_for(call).post(self.base.join(path));
        self.send(call, request, body, user_action)
    }

    /// One DELETE carrying exactly `body` (Dfns' SDKs send and sign `{}`), no retry.
    /// `user_action` adds `X-DFNS-USERACTION`.
    pub fn delete(
        &self,
        call: &Call,
        path: &str,
        body: &[u8],
        user_action: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let request = self
            .agent_for(call)
            .delete(self.base.join(path))
            .force_send_body();
        self.send(call, request, body, user_action)
    }

    fn send(
        &self,
        call: &Call,
        request: ureq::RequestBuilder<ureq::typestate::WithBody>,
        body: &[u8],
        user_action: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let mut request = request
            .header("Authorization", self.token.header().as_str())
            .header("Content-Type", "application/json");
        if let Some(token) = user_action {
            request = request.header("X-DFNS-USERACTION", token);
        }
        let response = request
            .send(body)
            .map_err(|e| ApiError::from_transport(call.clone(), &e))?;
        read_reply(call, response)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry budget is spent.
    /// Only repeatable calls are ever retried ([`RetryPolicy::delay`]).
    pub fn with_retries<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut number = 1;
        loop {
            match attempt() {
                Err(error) => match self.retry.delay(number + 1, &error) {
                    Some(delay) => {
                        (self.on_retry)(&RetryNotice {
                            error: &error,
                            delay,
                            next_attempt: number + 1,
                            attempts: self.retry.attempts,
                        });
                        std::thread::sleep(delay);
                        number += 1;
                    }
                    None => return Err(error),
                },
                ok => return ok,
            }
        }
    }
}

fn read_reply(
    call: &Call,
    mut response: ureq::http::Response<ureq::Body>,
) -> Result<Reply, ApiError> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
    let location = header("location");
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| ApiError::from_transport(call.clone(), &e))?;
    Ok(Reply {
        status,
        body,
        retry_after,
        location,
    })
}

/// `Retry-After` in delay-seconds form. (The HTTP-date form is not used by Dfns as far as
/// is known; it falls back to the computed backoff.)
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_only() {
        assert!(BaseUrl::parse("https://api.dfns.io").is_ok());
        assert_eq!(
            BaseUrl::parse("https://api.uae.dfns.io/prefix/")
                .unwrap()
                .join("/keys/k"),
            "https://api.uae.dfns.io/prefix/keys/k"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "http://127.9.9.9",
        ] {
            let url = BaseUrl::parse(ok).unwrap();
            assert!(url.is_loopback(), "{ok}");
        }
        for bad in [
            "http://api.dfns.io",
            "http://10.0.0.1",
            "http://localhost.evil.com",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(UrlError::NotHttps(_))),
                "{bad}"
            );
        }
        for bad in ["ftp://x", "api.dfns.io", "", "https://"] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        for bad in [
            "https://user:pw@api.dfns.io",
            "https://api.dfns.io/?a=b",
            "https://api.dfns.io/#x",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(UrlError::Extra(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_is_redacted() {
        let token = AuthToken::new(" eyJ.secret.sig ").unwrap();
        assert_eq!(format!("{token:?}"), "AuthToken(<redacted>)");
        assert_eq!(token.header().as_str(), "Bearer eyJ.secret.sig");
        assert!(AuthToken::new("   ").is_none());
    }

    fn transient(call: Call, retry_after: Option<Duration>) -> ApiError {
        ApiError::from_status(call, 429, b"", retry_after, None)
    }

    #[test]
    fn retry_policy_is_bounded_and_never_repeats_the_export() {
        let policy = RetryPolicy::default();
        let e = transient(Call::GetKey("k".into()), None);
        assert_eq!(policy.delay(2, &e), Some(Duration::from_millis(500)));
        assert_eq!(policy.delay(3, &e), Some(Duration::from_millis(1000)));
        assert_eq!(policy.delay(4, &e), Some(Duration::from_millis(2000)));
        assert_eq!(policy.delay(5, &e), None);
        let e = transient(Call::ActionInit, Some(Duration::from_secs(3)));
        assert_eq!(policy.delay(2, &e), Some(Duration::from_secs(3)));
        let e = transient(Call::ActionInit, Some(Duration::from_secs(3600)));
        assert_eq!(policy.delay(2, &e), None);
        let e = transient(Call::Export("k".into()), None);
        assert_eq!(policy.delay(2, &e), None);
        let e = ApiError::from_status(Call::GetKey("k".into()), 404, b"", None, None);
        assert_eq!(policy.delay(2, &e), None);
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
