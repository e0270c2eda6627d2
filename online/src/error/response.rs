//! The failures after the export: the response fails a check, cannot be saved, or its
//! QR/UR files cannot be written.

use keyexport_shared::transport::TransportError;

/// Which response failed to parse as an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The export's answer, as received.
    Export,
    /// The canary export's answer, as received.
    Canary,
    /// The canary response an earlier run saved.
    SavedCanary,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Export => "the response from Dfns",
            Answer::Canary => "the canary's response from Dfns",
            Answer::SavedCanary => "the saved canary response",
        })
    }
}

/// What a saved response fails. The advice is `OnlineError::ResponseCheck`'s, the same
/// for every check: the key is exported, the response is kept, offline verifies it.
#[derive(Debug, thiserror::Error)]
pub enum ResponseCheck {
    /// The body is not an export response.
    #[error("{answer} is not a valid export: {error}")]
    NotAnExport {
        /// Which answer.
        answer: Answer,
        /// Why.
        error: keyexport_shared::Error,
    },
    /// The response's public key is not the one `GET /keys` showed before the export.
    #[error(
        "the response's publicKey {public_key} ({curve}) differs from the key's public key \
         {expected} ({expected_curve}) shown by GET /keys before the export"
    )]
    PublicKeyDiffers {
        /// The public key in the response.
        public_key: keyexport_shared::curve::PublicKey,
        /// The response's curve.
        curve: keyexport_shared::scheme::Curve,
        /// The key's public key as `GET /keys` showed it.
        expected: String,
        /// The key's curve as `GET /keys` showed it.
        expected_curve: String,
    },
}

/// Why the response file could not be written. The advice is `OnlineError::NotSaved`'s:
/// the body is printed so it is not lost.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The body is not text, so it cannot be embedded in the response file.
    #[error("the response body is not UTF-8 text")]
    NotUtf8,
    /// The response file could not be built (its fields are refused).
    #[error(transparent)]
    File(keyexport_shared::Error),
    /// The file could not be written.
    #[error(transparent)]
    Write(keyexport_shared::Error),
}

/// Why the QR/UR files of a saved response could not be written. The advice is
/// `OnlineError::Transport`'s: the response itself is safe.
#[derive(Debug, thiserror::Error)]
pub enum FramesError {
    /// The response could not be cut into frames or drawn as codes.
    #[error(transparent)]
    Encode(#[from] TransportError),
    /// A frame file could not be written.
    #[error(transparent)]
    Write(#[from] keyexport_shared::Error),
}
