//! What every export does, for one key or a batch: the preflight's verdict on a key, the
//! typed confirmation, the response file written the moment Dfns answers, the check of
//! its public key against the preflight's, and the operator's progress notes.
//!
//! `submit::single` and `submit::batch` word the verdicts for their own screens (an error
//! with advice; a row of the summary); the decisions are made here once.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use keyexport_shared::curve::PublicKey;
use keyexport_shared::display::Escaped;
use keyexport_shared::files::{CeremonyId, KeyId, ResponseFile};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::scheme::Curve;
use keyexport_shared::wire::{ExportRequestBody, ExportResponse};

use crate::dfns::client::RetryNotice;
use crate::dfns::keys::KeyInfo;
use crate::error::{
    Confirm, InputError, OnlineError, Refusal, RefusedError, ResponseCheck, SaveError,
};
use crate::transcript::Transcript;

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

/// The `preflight` transcript line: the key as `GET /keys/{id}` showed it.
pub fn record_preflight(transcript: &mut Transcript, key: &KeyInfo) -> Result<(), OnlineError> {
    transcript.record(
        "preflight",
        serde_json::json!({
            "keyId": key.id,
            "curve": key.curve,
            "scheme": key.scheme,
            "status": key.status,
            "publicKey": key.public_key,
        }),
        Vec::new(),
    )?;
    Ok(())
}

/// The preflight's verdict on `key` for a request asking for `body`: exported keys first,
/// then inactive ones, then a curve the request does not list.
pub fn preflight(key: &KeyInfo, body: &ExportRequestBody) -> Result<(), Refusal> {
    if key.is_exported() {
        return Err(Refusal::AlreadyExported);
    }
    if !key.is_active() {
        return Err(Refusal::NotActive(key.status.clone()));
    }
    if !body
        .supported_schemes
        .iter()
        .any(|s| s.curve.as_str() == key.curve)
    {
        return Err(Refusal::SchemeNotListed);
    }
    Ok(())
}

/// " (on DATE)" when Dfns says when the key was exported, else nothing.
pub fn exported_on(key: &KeyInfo) -> String {
    key.date_exported
        .as_deref()
        .map(|d| format!(" (on {d})"))
        .unwrap_or_default()
}

/// What the operator types to confirm an export.
pub struct Confirmation<'a> {
    /// What is typed (it words the errors when it cannot be asked or does not match).
    pub what: Confirm,
    /// The exact text to type.
    pub expected: &'a str,
    /// The prompt, ending with `: `.
    pub prompt: &'a str,
}

impl Confirmation<'_> {
    /// Asks on the terminal, unless `yes` (said so on stderr).
    pub fn ask(&self, yes: bool) -> Result<(), OnlineError> {
        if yes {
            note("--yes given: not asking for confirmation.");
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(RefusedError::NoTerminal(self.what).into());
        }
        eprint!("{}", self.prompt);
        // Nothing useful can be done if stderr cannot be flushed; the prompt still follows.
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(InputError::Confirmation)?;
        if line.trim() == self.expected {
            Ok(())
        } else {
            Err(RefusedError::Mismatch(self.what).into())
        }
    }
}

/// What a response file records besides Dfns' body.
pub struct ResponseRecord<'a> {
    /// The ceremony of the request.
    pub ceremony_id: &'a CeremonyId,
    /// The key exported.
    pub key_id: &'a KeyId,
    /// SHA-256 of the request file.
    pub request_sha256: &'a str,
    /// Head of the online transcript line the response answers.
    pub transcript_head: &'a str,
    /// The preflight's view of the key (its HD facts are recorded).
    pub key: &'a KeyInfo,
    /// Whether the key is a canary ceremony's throwaway key (the file says so).
    pub canary: bool,
}

/// Writes the response file at `path` atomically, never over a file, and returns its
/// bytes. On failure, the reason: the caller must then get `body` to the operator.
pub fn save_response(
    record: &ResponseRecord<'_>,
    body: &[u8],
    path: &Path,
) -> Result<Vec<u8>, SaveError> {
    let text = std::str::from_utf8(body).map_err(|_| SaveError::NotUtf8)?;
    let file = ResponseFile::new(
        record.ceremony_id.clone(),
        record.key_id.clone(),
        record.request_sha256.to_owned(),
        now_rfc3339(),
        tool(),
        record.transcript_head.to_owned(),
        text,
    )
    .map_err(SaveError::File)?
    .with_key_object(record.key.key_object_facts())
    .with_canary(record.canary);
    let bytes = file.to_bytes();
    write_new(path, &bytes, FileMode::Public).map_err(SaveError::Write)?;
    Ok(bytes)
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
            check: Box::new(ResponseCheck::PublicKeyDiffers {
                public_key: response.public_key.clone(),
                curve: response.curve,
                expected: key.public_key.clone(),
                expected_curve: key.curve.clone(),
            }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use keyexport_shared::keys::DecryptionKey;

    fn key(curve: &str, status: &str, exported: Option<bool>, date: Option<&str>) -> KeyInfo {
        serde_json::from_value(serde_json::json!({
            "id": "key-1",
            "scheme": "ECDSA",
            "curve": curve,
            "publicKey": "02aa",
            "status": status,
            "exported": exported,
            "dateExported": date,
        }))
        .unwrap()
    }

    fn request(schemes: &[&str]) -> ExportRequestBody {
        ExportRequestBody {
            encryption_key: DecryptionKey::generate().encryption_key(),
            supported_schemes: schemes.iter().map(|s| s.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn preflight_passes_an_active_key_on_a_listed_curve() {
        let body = request(&["CGGMP24:secp256k1", "FROST:ed25519"]);
        assert_eq!(
            preflight(&key("ed25519", "Active", None, None), &body),
            Ok(())
        );
        assert_eq!(
            preflight(&key("secp256k1", "Active", Some(false), None), &body),
            Ok(())
        );
    }

    #[test]
    fn preflight_refuses_exported_then_inactive_then_unlisted() {
        let body = request(&["CGGMP24:secp256k1"]);
        // Exported wins over every other reason, whichever field says it.
        for (exported, date) in [(Some(true), None), (None, Some("2026-01-02"))] {
            let k = key("stark", "Archived", exported, date);
            assert_eq!(preflight(&k, &body), Err(Refusal::AlreadyExported));
        }
        assert_eq!(
            preflight(&key("stark", "Archived", None, None), &body),
            Err(Refusal::NotActive("Archived".into()))
        );
        let unlisted = preflight(&key("stark", "Active", None, None), &body);
        assert_eq!(unlisted, Err(Refusal::SchemeNotListed));
        assert_eq!(unlisted.unwrap_err().kind(), "scheme-not-listed");
    }

    #[test]
    fn the_export_date_is_named_when_known() {
        let k = key("stark", "Active", None, Some("2026-01-02"));
        assert_eq!(exported_on(&k), " (on 2026-01-02)");
        assert_eq!(exported_on(&key("stark", "Active", Some(true), None)), "");
    }
}
