//! What single-key and batch exports share: the check of a response's public key against
//! the preflight's, the operator's progress notes, and what response files and the batch
//! journal record about this tool and the time.

use std::path::Path;

use keyexport_shared::curve::PublicKey;
use keyexport_shared::display::Escaped;
use keyexport_shared::scheme::Curve;
use keyexport_shared::wire::ExportResponse;

use crate::dfns::client::RetryNotice;
use crate::dfns::keys::KeyInfo;
use crate::error::OnlineError;

/// Progress for the operator, on stderr (stdout is the result).
pub fn note(message: &str) {
    eprintln!("{message}");
}

/// Tells the operator that a repeatable call is retried.
pub fn announce_retry(notice: &RetryNotice<'_>) {
    eprintln!(
        "{}; retrying in {:.1} s (attempt {} of {})",
        Escaped(&notice.error),
        notice.delay.as_secs_f64(),
        notice.next_attempt,
        notice.attempts
    );
}

/// Now, as recorded in response files and the batch journal.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// This tool and its version, as recorded in response files and the batch journal.
pub fn tool() -> String {
    format!("keyexport-online {}", env!("CARGO_PKG_VERSION"))
}

/// The response's public key and curve must be the preflight's; `saved` is where the
/// response is (named in the error).
pub fn check_public_key(
    key: &KeyInfo,
    response: &ExportResponse,
    saved: &Path,
) -> Result<(), OnlineError> {
    let preflight = key.public_key.trim_start_matches("0x").to_ascii_lowercase();
    let same = hex::decode(&preflight)
        .ok()
        .and_then(|bytes| PublicKey::from_bytes(response.curve, &bytes).ok())
        .is_some_and(|announced| same_point(&announced, &response.public_key));
    if same && key.curve == response.curve.as_str() {
        Ok(())
    } else {
        Err(OnlineError::ResponseCheck {
            message: format!(
                "the response's publicKey {} ({}) differs from the key's public key {} ({}) \
                 shown by GET /keys before the export",
                response.public_key, response.curve, key.public_key, key.curve
            ),
            saved: saved.to_path_buf(),
        })
    }
}

/// Equal points, whatever the encoding (secp256k1 may come compressed or not).
fn same_point(a: &PublicKey, b: &PublicKey) -> bool {
    match (
        a.curve(),
        a.secp256k1_compressed(),
        b.secp256k1_compressed(),
    ) {
        (Curve::Secp256k1, Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
