//! Turning flags and environment into a Dfns client and a signing credential, before
//! any network traffic, so configuration mistakes surface first.
//!
//! Environment variables are the ones Dfns' SDK examples use: `DFNS_API_URL`,
//! `DFNS_AUTH_TOKEN`, `DFNS_CRED_ID`, `DFNS_PRIVATE_KEY` (PEM text) or
//! `DFNS_PRIVATE_KEY_FILE`. The secret ones are read here, never through clap, so they
//! cannot appear in help output or error messages.

use std::time::Duration;

use keyexport_shared::display::Escaped;
use zeroize::Zeroizing;

use crate::cli::DfnsArgs;
use crate::dfns::client::{AuthToken, BaseUrl, DfnsClient, OnRetry, RetryPolicy, Timeouts};
use crate::dfns::credential::Credential;
use crate::error::{ConfigError, OnlineError};

/// What `submit` needs to talk to Dfns.
pub struct Connection {
    /// The HTTP client.
    pub client: DfnsClient,
    /// The credential that signs the export.
    pub credential: Credential,
}

/// Builds the client and loads the credential. `on_retry` is told about each retry.
///
/// Every setting is checked before any is reported, so one run names every missing or
/// invalid variable instead of one per try.
pub fn connect(args: &DfnsArgs, on_retry: OnRetry) -> Result<Connection, OnlineError> {
    let (base, token, credential) = match (
        BaseUrl::parse(&args.api_url).map_err(OnlineError::from),
        read_token(args),
        read_credential(args),
    ) {
        (Ok(base), Ok(token), Ok(credential)) => (base, token, credential),
        (base, token, credential) => {
            let mut problems: Vec<OnlineError> = [base.err(), token.err(), credential.err()]
                .into_iter()
                .flatten()
                .collect();
            return Err(match problems.len() {
                1 => problems.remove(0),
                _ => OnlineError::Settings(problems),
            });
        }
    };
    let timeouts = Timeouts {
        connect: Duration::from_secs(args.connect_timeout.max(1)),
        exchange: Duration::from_secs(args.timeout.max(1)),
    };
    let proxy = proxy(args)?;
    let client = DfnsClient::new(
        base,
        token,
        timeouts,
        proxy,
        RetryPolicy::default(),
        on_retry,
    );
    Ok(Connection { client, credential })
}

/// The environment variables through which HTTP clients commonly pick a proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The proxy of `--proxy`, announced on stderr (without any credentials in its URL).
/// A proxy set in the environment is never followed silently: it is ignored, and said so,
/// because the export is a one-shot call whose route the operators should choose on the
/// command line, where the runbook and the screen show it.
fn proxy(args: &DfnsArgs) -> Result<Option<ureq::Proxy>, OnlineError> {
    let Some(url) = &args.proxy else {
        for name in PROXY_VARIABLES {
            if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
                eprintln!(
                    "Proxy        none ({name} is set and ignored: pass --proxy URL to use a proxy)"
                );
                break;
            }
        }
        return Ok(None);
    };
    let proxy = ureq::Proxy::new(url).map_err(|error| ConfigError::Proxy { error })?;
    eprintln!(
        "Proxy        {}://{}:{} (from --proxy)",
        proxy_scheme(proxy.protocol()),
        Escaped(proxy.host()),
        proxy.port()
    );
    Ok(Some(proxy))
}

fn proxy_scheme(protocol: ureq::ProxyProtocol) -> &'static str {
    match protocol {
        ureq::ProxyProtocol::Http => "http",
        ureq::ProxyProtocol::Https => "https",
        ureq::ProxyProtocol::Socks4 => "socks4",
        ureq::ProxyProtocol::Socks4A => "socks4a",
        ureq::ProxyProtocol::Socks5 => "socks5",
        ureq::ProxyProtocol::Socks5h => "socks5h",
        _ => "proxy",
    }
}

fn read_token(args: &DfnsArgs) -> Result<AuthToken, OnlineError> {
    let text = match &args.auth_token_file {
        Some(path) => {
            let read = keyexport_shared::input::read(path, keyexport_shared::input::SECRET);
            let bytes = Zeroizing::new(read.map_err(|error| ConfigError::TokenFileUnreadable {
                path: path.clone(),
                error,
            })?);
            Zeroizing::new(
                std::str::from_utf8(&bytes)
                    .map_err(|_| ConfigError::TokenFileNotText { path: path.clone() })?
                    .to_owned(),
            )
        }
        None => Zeroizing::new(std::env::var("DFNS_AUTH_TOKEN").unwrap_or_default()),
    };
    AuthToken::new(&text).ok_or(ConfigError::NoToken.into())
}

fn read_credential(args: &DfnsArgs) -> Result<Credential, OnlineError> {
    let pem = std::env::var("DFNS_PRIVATE_KEY")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(Zeroizing::new);
    match (args.cred_id.as_deref(), &args.private_key_file, pem) {
        (Some(id), Some(path), _) => Ok(Credential::from_pem_file(id, path)?),
        (Some(id), None, Some(pem)) => Ok(Credential::from_pem(id, &pem)?),
        (Some(_), None, None) => Err(ConfigError::NoCredentialKey.into()),
        (None, None, None) => Err(ConfigError::NoCredential.into()),
        (None, _, _) => Err(ConfigError::NoCredentialId.into()),
    }
}
