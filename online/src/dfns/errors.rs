//! Classification of everything that can go wrong talking to Dfns.
//!
//! `dfns-auth.md` ("Errors") lists the statuses and the three error body shapes
//! (`{"error": {"message"}}`, `{"message"}`, or not JSON at all). Each failure keeps
//! the call it happened on, so messages name it, and says whether retrying is safe:
//! only transient failures (429, 5xx, connection reset, timeouts) are retried, and only
//! for calls with no lasting effect. For the export itself the question that matters is
//! whether the request may have reached Dfns ([`Delivery`]).

use std::fmt;
use std::time::Duration;

/// The Dfns call a failure happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `GET /keys/{keyId}` (read-only preflight).
    GetKey(String),
    /// `POST /auth/action/init` (user-action challenge).
    ActionInit,
    /// `POST /auth/action` (user-action signature).
    ActionSign,
    /// `POST /keys/{keyId}/export` (the irreversible export).
    Export(String),
    /// `POST /keys` (creating the canary's throwaway key).
    CreateKey,
    /// `DELETE /keys/{keyId}` (deleting the canary's throwaway key).
    DeleteKey(String),
}

impl Call {
    /// Whether the call can be repeated without lasting effect. Creating a key is not
    /// (each attempt may leave a key behind), nor is deleting one (its user action is
    /// single-use; a second attempt would be a new decision, not a retry).
    pub fn is_repeatable(&self) -> bool {
        !matches!(self, Call::Export(_) | Call::CreateKey | Call::DeleteKey(_))
    }

    /// The Dfns permission the call needs, when it needs one (the user-action calls need
    /// none of their own).
    pub fn permission(&self) -> Option<&'static str> {
        match self {
            Call::GetKey(_) => Some("Keys:Read"),
            Call::Export(_) => Some("Keys:Export"),
            Call::CreateKey => Some("Keys:Create"),
            Call::DeleteKey(_) => Some("Keys:Delete"),
            Call::ActionInit | Call::ActionSign => None,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::GetKey(id) => write!(f, "GET /keys/{id}"),
            Call::ActionInit => f.write_str("POST /auth/action/init"),
            Call::ActionSign => f.write_str("POST /auth/action"),
            Call::Export(id) => write!(f, "POST /keys/{id}/export"),
            Call::CreateKey => f.write_str("POST /keys"),
            Call::DeleteKey(id) => write!(f, "DELETE /keys/{id}"),
        }
    }
}

/// Whether a request that failed in transit may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// It failed before any request byte was sent (DNS, connect, TLS handshake).
    NotSent,
    /// It failed after sending began: the server may have acted on it.
    MaybeSent,
}

/// The kind of a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The host name could not be resolved.
    Dns,
    /// The TCP connection could not be made.
    Connect,
    /// TLS failed (certificate, handshake).
    Tls,
    /// No answer in time.
    Timeout,
    /// The connection was reset or closed early.
    Reset,
    /// Anything else on the wire (malformed HTTP).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Dns => "DNS lookup failed",
            TransportKind::Connect => "connection failed",
            TransportKind::Tls => "TLS failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Reset => "connection reset",
            TransportKind::Other => "network error",
        })
    }
}

/// Dfns' own error message, cleaned for display: at most 500 characters, no control
/// characters. (Dfns messages never contain the caller's token or key.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DfnsMessage(Option<String>);

impl DfnsMessage {
    /// Extracts the message from an error body in any of the three shapes.
    pub fn from_body(body: &[u8]) -> Self {
        let text = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => value
                .pointer("/error/message")
                .or_else(|| value.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(500)
            .collect();
        let clean = clean.trim();
        DfnsMessage((!clean.is_empty()).then(|| clean.to_owned()))
    }

    /// The cleaned message, if Dfns gave one.
    pub fn text(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for DfnsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(m) => write!(f, ": Dfns says \"{m}\""),
            None => Ok(()),
        }
    }
}

/// What went wrong, independent of the call.
#[derive(Debug, thiserror::Error)]
pub enum ApiErrorKind {
    /// HTTP 400.
    #[error("the request was rejected as invalid (HTTP 400){0}")]
    BadRequest(DfnsMessage),
    /// HTTP 401: the bearer token, or at `POST /auth/action` the credential, was refused.
    #[error("authentication refused (HTTP 401){0}")]
    Unauthorized(DfnsMessage),
    /// HTTP 402.
    #[error("the feature is not enabled for this organization (HTTP 402){0}")]
    NotEnabled(DfnsMessage),
    /// HTTP 403.
    #[error("permission denied (HTTP 403){0}")]
    Forbidden(DfnsMessage),
    /// HTTP 404.
    #[error("not found (HTTP 404){0}")]
    NotFound(DfnsMessage),
    /// HTTP 409.
    #[error("conflict (HTTP 409){0}")]
    Conflict(DfnsMessage),
    /// HTTP 429.
    #[error("rate limited (HTTP 429){message}")]
    RateLimited {
        /// Dfns' message.
        message: DfnsMessage,
        /// The `Retry-After` delay, if the server sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx.
    #[error("server error (HTTP {status}){message}")]
    Server {
        /// The status.
        status: u16,
        /// Dfns' message.
        message: DfnsMessage,
    },
    /// A redirect; never followed (credentials must not leave for another URL).
    #[error("unexpected redirect (HTTP {status}) to {location:?}, not followed")]
    Redirect {
        /// The status.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Any other status.
    #[error("unexpected HTTP status {status}{message}")]
    Unexpected {
        /// The status.
        status: u16,
        /// Dfns' message.
        message: DfnsMessage,
    },
    /// The request did not complete on the wire.
    #[error("{kind}: {detail}")]
    Transport {
        /// What failed.
        kind: TransportKind,
        /// Whether it may have reached the server.
        delivery: Delivery,
        /// The transport's description (never contains headers).
        detail: String,
    },
    /// A success response that does not have the documented shape.
    #[error("the response is not what the Dfns API documents: {0}")]
    InvalidResponse(String),
    /// The user-action challenge does not allow our credential.
    #[error(
        "the credential {cred_id:?} is not among the credentials Dfns allows for this user \
         action (allowed: {})",
        if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") }
    )]
    CredentialNotAllowed {
        /// Our credential id.
        cred_id: String,
        /// The ids Dfns listed.
        allowed: Vec<String>,
    },
}

/// A failed Dfns call.
#[derive(Debug, thiserror::Error)]
#[error("{call}: {kind}")]
pub struct ApiError {
    /// The call.
    pub call: Call,
    /// What went wrong.
    pub kind: ApiErrorKind,
}

impl ApiError {
    /// Classifies a non-success HTTP status with its body.
    pub fn from_status(
        call: Call,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        location: Option<String>,
    ) -> Self {
        let message = DfnsMessage::from_body(body);
        let kind = match status {
            400 => ApiErrorKind::BadRequest(message),
            401 => ApiErrorKind::Unauthorized(message),
            402 => ApiErrorKind::NotEnabled(message),
            403 => ApiErrorKind::Forbidden(message),
            404 => ApiErrorKind::NotFound(message),
            409 => ApiErrorKind::Conflict(message),
            429 => ApiErrorKind::RateLimited {
                message,
                retry_after,
            },
            300..=399 => ApiErrorKind::Redirect {
                status,
                location: location.unwrap_or_default(),
            },
            500..=599 => ApiErrorKind::Server { status, message },
            _ => ApiErrorKind::Unexpected { status, message },
        };
        ApiError { call, kind }
    }

    /// Classifies a transport failure from the HTTP client.
    pub fn from_transport(call: Call, error: &ureq::Error) -> Self {
        let (kind, delivery) = transport_kind(error);
        ApiError {
            call,
            kind: ApiErrorKind::Transport {
                kind,
                delivery,
                detail: error.to_string(),
            },
        }
    }

    /// Whether a repeatable call may be tried again after this failure.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ApiErrorKind::RateLimited { .. } => true,
            ApiErrorKind::Server { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            ApiErrorKind::Transport { kind, .. } => matches!(
                kind,
                TransportKind::Connect | TransportKind::Timeout | TransportKind::Reset
            ),
            _ => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ApiErrorKind::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request may have had an effect on the server. For the export this
    /// decides between "nothing happened, run again" and "check before running again".
    pub fn may_have_reached_server(&self) -> bool {
        match &self.kind {
            ApiErrorKind::Transport { delivery, .. } => *delivery == Delivery::MaybeSent,
            // A gateway or server failure answers after the request arrived.
            ApiErrorKind::Server { .. } | ApiErrorKind::Unexpected { .. } => true,
            _ => false,
        }
    }
}

/// Maps the HTTP client's error to a kind and whether the request may have been sent.
fn transport_kind(error: &ureq::Error) -> (TransportKind, Delivery) {
    use std::io::ErrorKind as Io;
    use ureq::Timeout as T;
    match error {
        ureq::Error::HostNotFound => (TransportKind::Dns, Delivery::NotSent),
        ureq::Error::ConnectionFailed => (TransportKind::Connect, Delivery::NotSent),
        ureq::Error::Timeout(T::Resolve) => (TransportKind::Dns, Delivery::NotSent),
        ureq::Error::Timeout(T::Connect) => (TransportKind::Timeout, Delivery::NotSent),
        ureq::Error::Timeout(_) => (TransportKind::Timeout, Delivery::MaybeSent),
        ureq::Error::Io(e) => match e.kind() {
            Io::ConnectionRefused | Io::AddrNotAvailable | Io::NetworkUnreachable => {
                (TransportKind::Connect, Delivery::NotSent)
            }
            Io::HostUnreachable => (TransportKind::Connect, Delivery::NotSent),
            Io::TimedOut | Io::WouldBlock => (TransportKind::Timeout, Delivery::MaybeSent),
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                (TransportKind::Reset, Delivery::MaybeSent)
            }
            _ => (TransportKind::Other, Delivery::MaybeSent),
        },
        ureq::Error::Rustls(rustls::Error::InvalidCertificate(_))
        | ureq::Error::Rustls(rustls::Error::NoCertificatesPresented)
        | ureq::Error::Rustls(rustls::Error::PeerIncompatible(_)) => {
            (TransportKind::Tls, Delivery::NotSent)
        }
        ureq::Error::Rustls(_) | ureq::Error::Tls(_) | ureq::Error::Pem(_) => {
            (TransportKind::Tls, Delivery::MaybeSent)
        }
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) | ureq::Error::TlsRequired => {
            (TransportKind::Other, Delivery::NotSent)
        }
        _ => (TransportKind::Other, Delivery::MaybeSent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> ApiError {
        ApiError::from_status(
            Call::Export("key-1".into()),
            status,
            body.as_bytes(),
            None,
            None,
        )
    }

    #[test]
    fn reads_all_three_error_body_shapes() {
        let nested = r#"{"error":{"id":"x","status":400,"message":"bad scheme","details":{}}}"#;
        assert_eq!(
            DfnsMessage::from_body(nested.as_bytes()).0.as_deref(),
            Some("bad scheme")
        );
        let top = r#"{"message":"nope"}"#;
        assert_eq!(
            DfnsMessage::from_body(top.as_bytes()).0.as_deref(),
            Some("nope")
        );
        assert_eq!(
            DfnsMessage::from_body(b"<html>\nBad Gateway</html>")
                .0
                .as_deref(),
            Some("<html> Bad Gateway</html>")
        );
        assert_eq!(DfnsMessage::from_body(b"  ").0.as_deref(), None);
    }

    #[test]
    fn message_is_bounded_and_has_no_control_characters() {
        let long = format!("{{\"message\":\"{}\\u001b[31m\"}}", "a".repeat(2000));
        let m = DfnsMessage::from_body(long.as_bytes());
        let text = m.0.as_deref().unwrap();
        assert_eq!(text.chars().count(), 500);
        assert!(!text.chars().any(char::is_control));
    }

    #[test]
    fn statuses_classify() {
        assert!(matches!(err(400, "").kind, ApiErrorKind::BadRequest(_)));
        assert!(matches!(err(401, "").kind, ApiErrorKind::Unauthorized(_)));
        assert!(matches!(err(402, "").kind, ApiErrorKind::NotEnabled(_)));
        assert!(matches!(err(403, "").kind, ApiErrorKind::Forbidden(_)));
        assert!(matches!(err(404, "").kind, ApiErrorKind::NotFound(_)));
        assert!(matches!(err(409, "").kind, ApiErrorKind::Conflict(_)));
        assert!(matches!(err(302, "").kind, ApiErrorKind::Redirect { .. }));
        assert!(matches!(err(418, "").kind, ApiErrorKind::Unexpected { .. }));
        assert!(err(429, "").is_transient());
        assert!(err(503, "").is_transient());
        assert!(!err(501, "").is_transient());
        assert!(!err(400, "").is_transient());
        assert!(err(500, "").may_have_reached_server());
        assert!(!err(429, "").may_have_reached_server());
    }

    #[test]
    fn display_names_call_and_message() {
        let e = err(400, r#"{"message":"encryptionKey is invalid"}"#);
        assert_eq!(
            e.to_string(),
            "POST /keys/key-1/export: the request was rejected as invalid (HTTP 400): \
             Dfns says \"encryptionKey is invalid\""
        );
    }

    #[test]
    fn transport_delivery_is_conservative() {
        let refused = ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = ApiError::from_transport(Call::Export("k".into()), &refused);
        assert!(!e.may_have_reached_server() && e.is_transient());
        let reset = ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(
            ApiError::from_transport(Call::Export("k".into()), &reset).may_have_reached_server()
        );
        let late = ureq::Error::Timeout(ureq::Timeout::RecvResponse);
        let e = ApiError::from_transport(Call::Export("k".into()), &late);
        assert!(e.may_have_reached_server() && e.is_transient());
        let dns = ApiError::from_transport(Call::ActionInit, &ureq::Error::HostNotFound);
        assert!(!dns.is_transient() && !dns.may_have_reached_server());
    }
}
