//! Sealing the decryption key with a passphrase, using age (scrypt recipient, ASCII armor).
//!
//! The sealed file is a standard armored age file, so the reference `age`/`rage` CLI opens
//! it with the passphrase. Its plaintext is a small JSON document that binds the key to its
//! ceremony, so `reconstruct` can refuse a response from another ceremony:
//!
//! ```json
//! {"kind":"keyexport-sealed-decryption-key","version":1,"ceremonyId":"…","keyId":"…","decryptionKey":"01<64 hex>"}
//! ```
//!
//! A batch ceremony leaves `keyId` empty and lists its keys in `keyIds`.
//!
//! `decryptionKey` is the Dfns serialization (spec section 2), usable by other tools.
//!
//! Work factor: scrypt `log2(N)` = [`DEFAULT_LOG_N`] = 18, measured so that unsealing takes
//! about one second on the project's reference machine (2 cores): `reconstruct` spent 0.95 s
//! of CPU unsealing at 18 and 2.5 s at 19; `init` 1.1 s sealing at 18 (dependencies at
//! opt-level 2; `benches/unseal.rs` prints the figures for 16..=21). It is a fixed
//! constant rather than age's per-machine calibration so every ceremony is reproducible.
//! Debug builds (the test suite) read `KEYEXPORT_TEST_SCRYPT_LOG_N` to lower it so the tests
//! run fast, announcing it on standard error; release builds contain neither the switch nor
//! its name. The transcript records the work factor of every seal.

use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, InputProblem};

/// scrypt work factor (log2 N) of new sealed keys: about one second to unseal here.
pub const DEFAULT_LOG_N: u8 = 18;

/// Test hook (debug builds only): overrides the scrypt work factor of sealed keys, custody
/// parts and keystores.
#[cfg(debug_assertions)]
const TEST_LOG_N_ENV: &str = "KEYEXPORT_TEST_SCRYPT_LOG_N";

/// Highest work factor accepted when unsealing: refuses files that would take minutes.
const MAX_LOG_N: u8 = DEFAULT_LOG_N + 4;

/// The `kind` of the sealed plaintext document.
const SEALED_KIND: &str = "keyexport-sealed-decryption-key";
/// Its format version.
const SEALED_VERSION: u32 = 1;

/// The test override of scrypt work factors, announced on stderr; `None` when unset (callers
/// then use their standard factor), and always `None` in release builds.
#[cfg(not(debug_assertions))]
pub fn test_log_n() -> CliResult<Option<u8>> {
    Ok(None)
}

/// The test override of scrypt work factors ([`TEST_LOG_N_ENV`]), announced on stderr.
/// `None` when unset: callers then use their standard factor.
#[cfg(debug_assertions)]
pub fn test_log_n() -> CliResult<Option<u8>> {
    let Ok(value) = std::env::var(TEST_LOG_N_ENV) else {
        return Ok(None);
    };
    match value.parse::<u8>() {
        Ok(log_n @ 1..=MAX_LOG_N) => {
            eprintln!(
                "warning: {TEST_LOG_N_ENV}={log_n}: scrypt work factor set for tests; never use this for a real ceremony"
            );
            Ok(Some(log_n))
        }
        _ => Err(CliError::Usage(crate::error::UsageError::TestWorkFactor {
            var: TEST_LOG_N_ENV,
            max: MAX_LOG_N,
        })),
    }
}

/// The plaintext inside a sealed key file. `Debug` shows the ids, never the key.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedPayload {
    kind: String,
    version: u32,
    /// The ceremony this key belongs to.
    pub ceremony_id: String,
    /// The Dfns key id of the ceremony (empty for a batch: see `key_ids`).
    pub key_id: String,
    /// The keys of a batch ceremony; absent for a single key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
    /// Dfns serialization `01<64 hex>`.
    pub decryption_key: Zeroizing<String>,
}

impl std::fmt::Debug for SealedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedPayload")
            .field("ceremony_id", &self.ceremony_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SealedPayload {
    /// A payload for a ceremony.
    pub fn new(ceremony_id: String, key_id: String, decryption_key: Zeroizing<String>) -> Self {
        SealedPayload {
            kind: SEALED_KIND.to_owned(),
            version: SEALED_VERSION,
            ceremony_id,
            key_id,
            key_ids: Vec::new(),
            decryption_key,
        }
    }

    /// The same payload for a batch: `keyId` empty, the keys in `keyIds`.
    pub fn for_batch(mut self, key_ids: Vec<String>) -> Self {
        self.key_id = String::new();
        self.key_ids = key_ids;
        self
    }

    fn to_json(&self) -> CliResult<Zeroizing<Vec<u8>>> {
        // Allocate once, large enough for any escaping, so the buffer holding the key is
        // never reallocated (which would leave an unzeroized copy behind).
        let ids: usize = self.key_ids.iter().map(|id| id.len() + 3).sum();
        let capacity = 256 + 6 * (self.ceremony_id.len() + self.key_id.len() + ids);
        let mut out = Zeroizing::new(Vec::with_capacity(capacity));
        serde_json::to_writer(&mut *out, self)
            .map_err(|e| CliError::Internal(format!("serializing the sealed key: {e}")))?;
        Ok(out)
    }

    fn from_json(bytes: &[u8], path: &str) -> CliResult<Self> {
        // serde_json messages may quote the input; report the position only.
        let payload: SealedPayload =
            serde_json::from_slice(bytes).map_err(|e| CliError::Input {
                path: path.to_owned(),
                problem: InputProblem::SealedNotJson {
                    line: e.line(),
                    column: e.column(),
                },
            })?;
        if payload.kind != SEALED_KIND || payload.version != SEALED_VERSION {
            return Err(CliError::Input {
                path: path.to_owned(),
                problem: InputProblem::SealedWrongKind {
                    kind: payload.kind.clone(),
                    version: payload.version,
                    expected_kind: SEALED_KIND,
                    expected_version: SEALED_VERSION,
                },
            });
        }
        Ok(payload)
    }
}

/// Whether `bytes` look like an age file (armored or binary).
pub fn is_age_file(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// Encrypts `payload` to `passphrase` with scrypt work factor `log_n`; returns armored age.
pub fn seal(payload: &SealedPayload, passphrase: SecretString, log_n: u8) -> CliResult<Vec<u8>> {
    seal_bytes(&payload.to_json()?, passphrase, log_n)
}

/// Encrypts any `plaintext` to `passphrase` (scrypt work factor `log_n`); armored age.
pub fn seal_bytes(plaintext: &[u8], passphrase: SecretString, log_n: u8) -> CliResult<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(passphrase);
    recipient.set_work_factor(log_n);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| CliError::Internal(format!("age: {e}")))?;
    encrypt_to_armor(encryptor, plaintext)
}

/// Runs an age encryptor over `plaintext` into an ASCII-armored buffer.
pub fn encrypt_to_armor(encryptor: age::Encryptor, plaintext: &[u8]) -> CliResult<Vec<u8>> {
    let internal = |e: std::io::Error| CliError::Internal(format!("age: {e}"));
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(internal)?;
    let mut writer = encryptor.wrap_output(armor).map_err(internal)?;
    writer.write_all(plaintext).map_err(internal)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(internal)?;
    Ok(out)
}

/// Opens a sealed key file with `passphrase`. `path` names the file in messages.
pub fn unseal(bytes: &[u8], passphrase: SecretString, path: &str) -> CliResult<SealedPayload> {
    let plaintext = unseal_bytes(bytes, passphrase, path)?;
    SealedPayload::from_json(&plaintext, path)
}

/// Opens any passphrase-sealed age file; returns its plaintext (wiped on drop).
pub fn unseal_bytes(
    bytes: &[u8],
    passphrase: SecretString,
    path: &str,
) -> CliResult<Zeroizing<Vec<u8>>> {
    let not_age = |reason: String| CliError::Input {
        path: path.to_owned(),
        problem: InputProblem::NotAge { reason },
    };
    let decryptor =
        age::Decryptor::new(ArmoredReader::new(bytes)).map_err(|e| not_age(e.to_string()))?;
    if !decryptor.is_scrypt() {
        return Err(CliError::Input {
            path: path.to_owned(),
            problem: InputProblem::SealedToRecipient,
        });
    }
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_LOG_N);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::KeyDecryptionFailed
            | age::DecryptError::NoMatchingKeys => CliError::WrongPassphrase { path: path.into() },
            age::DecryptError::ExcessiveWork { required, .. } => CliError::Input {
                path: path.to_owned(),
                problem: InputProblem::ExcessiveWork {
                    required,
                    max: MAX_LOG_N,
                },
            },
            other => not_age(other.to_string()),
        })?;
    read_plaintext(reader, bytes.len()).map_err(|e| not_age(format!("payload: {e}")))
}

/// Reads the plaintext of an age file of `file_len` bytes into wiped memory.
///
/// The buffer is allocated once, `file_len` bytes, and the read is bounded by it, so the
/// bytes it holds are never reallocated (which would leave an unwiped copy in freed
/// memory). An age plaintext is always shorter than its file (a header, and a 16-byte tag
/// per chunk; armor adds base64), so the bound never cuts it.
pub fn read_plaintext(reader: impl Read, file_len: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut plaintext = Zeroizing::new(Vec::with_capacity(file_len));
    reader.take(file_len as u64).read_to_end(&mut plaintext)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "01c9a5ff7b1d1d7b4a6c1fbc3d4a6a1e0f0c1b2a39485766554433221100ffeedd";

    fn payload() -> SealedPayload {
        SealedPayload::new(
            "cer-1".into(),
            "key-abc".into(),
            Zeroizing::new(KEY_HEX.into()),
        )
    }

    #[test]
    fn seal_unseal_round_trip() {
        let sealed = seal(&payload(), SecretString::from("pw".to_owned()), 2).unwrap();
        assert!(is_age_file(&sealed));
        assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        let opened = unseal(&sealed, SecretString::from("pw".to_owned()), "k").unwrap();
        assert_eq!(opened.ceremony_id, "cer-1");
        assert_eq!(opened.key_id, "key-abc");
        assert_eq!(opened.decryption_key.as_str(), KEY_HEX);
        let debug = format!("{opened:?}");
        assert!(!debug.contains(&KEY_HEX[4..]), "{debug}");
    }

    #[test]
    fn wrong_passphrase_is_named() {
        let sealed = seal(&payload(), SecretString::from("pw".to_owned()), 2).unwrap();
        let err = unseal(&sealed, SecretString::from("other".to_owned()), "k").unwrap_err();
        assert!(matches!(err, CliError::WrongPassphrase { .. }), "{err}");
    }

    /// `sealed` (binary age, one scrypt stanza) with the stanza's work factor replaced.
    fn with_work_factor(sealed: &[u8], log_n: &[u8]) -> Vec<u8> {
        let stanza = sealed.windows(10).position(|w| w == b"-> scrypt ").unwrap();
        let line_end = stanza + sealed[stanza..].iter().position(|&b| b == b'\n').unwrap();
        let factor = line_end
            - sealed[..line_end]
                .iter()
                .rev()
                .position(|&b| b == b' ')
                .unwrap();
        [&sealed[..factor], log_n, &sealed[line_end..]].concat()
    }

    #[test]
    fn an_excessive_work_factor_is_refused_before_any_work() {
        // A binary age file sealed at work factor 2, its stanza then claiming 2^30: the
        // refusal comes from the stanza, before scrypt runs (or the header MAC is checked).
        let mut recipient = age::scrypt::Recipient::new(SecretString::from("pw".to_owned()));
        recipient.set_work_factor(2);
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap();
        let mut sealed = Vec::new();
        let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
        writer.write_all(b"secret").unwrap();
        writer.finish().unwrap();
        let forged = with_work_factor(&sealed, b"30");
        let err = unseal_bytes(&forged, SecretString::from("pw".to_owned()), "k").unwrap_err();
        assert!(matches!(err, CliError::Input { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("sealed with scrypt work factor 30, above the accepted 22"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_an_input_error() {
        let err = unseal(
            b"age-encryption.org/v1\nnonsense",
            SecretString::from("pw".to_owned()),
            "k",
        )
        .unwrap_err();
        assert!(matches!(err, CliError::Input { .. }), "{err}");
    }

    #[test]
    fn the_plaintext_is_the_documented_json() {
        let json = payload().to_json().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["kind"], SEALED_KIND);
        assert_eq!(value["version"], 1);
        assert_eq!(value["ceremonyId"], "cer-1");
        assert_eq!(value["decryptionKey"], KEY_HEX);
        assert!(
            value.get("keyIds").is_none(),
            "single-key payloads are unchanged"
        );
    }

    #[test]
    fn batch_payload_lists_its_keys() {
        let batch = payload().for_batch(vec!["key-a".into(), "key-b".into()]);
        let sealed = seal(&batch, SecretString::from("pw".to_owned()), 2).unwrap();
        let opened = unseal(&sealed, SecretString::from("pw".to_owned()), "k").unwrap();
        assert_eq!(opened.key_id, "");
        assert_eq!(opened.key_ids, ["key-a", "key-b"]);
    }
}
