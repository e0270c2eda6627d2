//! Configuration that cannot be used, found before any network traffic.

use std::path::PathBuf;

/// What to set when the credentials or the token are missing.
pub const CREDENTIAL_ADVICE: &str = "Set DFNS_AUTH_TOKEN, DFNS_CRED_ID and DFNS_PRIVATE_KEY (PEM \
     text) or DFNS_PRIVATE_KEY_FILE; DFNS_API_URL defaults to https://api.dfns.io. See \
     `keyexport-online submit --help`.";

/// Why the configuration cannot be used: the facts, the message and the advice. All are of
/// kind `config`, found before any network traffic.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--proxy` is not a proxy URL.
    #[error("--proxy: not a proxy URL such as http://proxy.example:3128 ({error})")]
    Proxy {
        /// Why.
        error: ureq::Error,
    },
    /// `--auth-token-file` cannot be read.
    #[error("cannot read the auth token file {}: {error}", path.display())]
    TokenFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// `--auth-token-file` is not UTF-8 text.
    #[error("the auth token file {} is not UTF-8 text", path.display())]
    TokenFileNotText {
        /// The file.
        path: PathBuf,
    },
    /// No token in the environment (or an empty one).
    #[error("no auth token: DFNS_AUTH_TOKEN is not set or empty")]
    NoToken,
    /// No credential id.
    #[error("no credential id: DFNS_CRED_ID is not set")]
    NoCredentialId,
    /// No credential private key.
    #[error("no credential key: set DFNS_PRIVATE_KEY (PEM text) or DFNS_PRIVATE_KEY_FILE")]
    NoCredentialKey,
    /// Neither the credential id nor its private key.
    #[error("{}; {}", ConfigError::NoCredentialId, ConfigError::NoCredentialKey)]
    NoCredential,
}

impl ConfigError {
    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            ConfigError::Proxy { .. } => "Give --proxy as a proxy URL such as \
                                          http://proxy.example:3128 or \
                                          socks5://proxy.example:1080, or leave it out to \
                                          connect directly. Nothing was sent."
                .into(),
            ConfigError::TokenFileUnreadable { .. } | ConfigError::TokenFileNotText { .. } => {
                "Give --auth-token-file a readable file that holds the token as text, or \
                 leave it out and set DFNS_AUTH_TOKEN. Nothing was sent."
                    .into()
            }
            ConfigError::NoToken
            | ConfigError::NoCredentialId
            | ConfigError::NoCredentialKey
            | ConfigError::NoCredential => CREDENTIAL_ADVICE.into(),
        }
    }
}
