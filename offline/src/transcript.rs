//! The ceremony transcript: one JSON line per run, appended to `transcript.jsonl`.
//!
//! Each line records when, which command, which build wrote it (`build`: the
//! `version --json` object of `keyexport_shared::build_info`), and the SHA-256 of every
//! input and output artifact, plus the public outcome (public key, signers, error kind).
//! It never holds a secret: passphrase files are listed by path only (a digest of a
//! low-entropy passphrase could be brute-forced), and no key material is written. Digests of
//! key files are safe to record: they are one-way functions of 256-bit secrets.
//!
//! Lines are appended through `keyexport_shared::transcript`, which chains them (`seq`,
//! `prev` = SHA-256 of the previous line) and returns the new head for the witnesses to
//! write down. Every digested file is also listed under `artifacts` (absolute path and
//! SHA-256), the shape `keyexport_shared::transcript::verify` re-checks.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use keyexport_shared::build_info::BuildInfo;
use keyexport_shared::custody::CommitmentsDigest;
use serde::Serialize;
use serde_json::Value;

use crate::error::{CliError, CliResult};

pub use keyexport_shared::transcript::FILE_NAME;

/// This tool's version, as recorded.
pub const TOOL_VERSION: &str = concat!("keyexport-offline ", env!("CARGO_PKG_VERSION"));

pub use keyexport_shared::files::sha256_hex;

/// One artifact read or written by a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRecord {
    /// What the artifact is for (`request`, `response`, `sealed-key`, `key-output`...).
    pub role: &'static str,
    /// Its absolute path, `-` for standard input; in the transcript, relative to the
    /// transcript's folder when it is inside it.
    pub path: String,
    /// SHA-256 of its bytes; absent for passphrase files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Its length in bytes.
    pub bytes: usize,
    /// For a file sealed with a passphrase (sealed key, custody part, Ethereum keystore):
    /// the scrypt work factor `log2(N)` it was sealed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrypt_log_n: Option<u8>,
}

impl ArtifactRecord {
    /// A record of the file at `path` (or `-`, standard input) with the digest of `bytes`.
    pub fn new(role: &'static str, path: &str, bytes: &[u8]) -> Self {
        ArtifactRecord {
            role,
            path: absolute(path),
            sha256: Some(sha256_hex(bytes)),
            bytes: bytes.len(),
            scrypt_log_n: None,
        }
    }

    /// The same record, noting the scrypt work factor the file was sealed with (if any).
    pub fn sealed_with(mut self, scrypt_log_n: Option<u8>) -> Self {
        self.scrypt_log_n = scrypt_log_n;
        self
    }

    /// A record of a passphrase file: path only, never a digest or length.
    pub fn passphrase_file(path: &Path) -> Self {
        ArtifactRecord {
            role: "passphrase-file",
            path: absolute(&path.display().to_string()),
            sha256: None,
            bytes: 0,
            scrypt_log_n: None,
        }
    }

    /// `{"path", "sha256"}` for `keyexport_shared::transcript::verify`, for files only.
    fn verifiable(&self) -> Option<Value> {
        let digest = self.sha256.as_ref().filter(|_| self.path != "-")?;
        Some(serde_json::json!({ "path": self.path, "sha256": digest }))
    }
}

/// `path` made absolute against the working directory (`-` stays `-`), so the transcript
/// names files unambiguously whatever directory a later run starts from.
fn absolute(path: &str) -> String {
    if path == "-" {
        return path.to_owned();
    }
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_owned())
}

/// How the run ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Outcome {
    /// Success.
    Ok,
    /// Failure, with the `--json` error kind and the (secret-free) message.
    Failed {
        /// Error kind.
        kind: &'static str,
        /// Error message.
        message: String,
    },
}

impl Outcome {
    /// The outcome of a run's result.
    pub fn of<T>(result: &CliResult<T>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Failed {
                kind: e.kind().as_str(),
                message: e.message(),
            },
        }
    }
}

/// Public facts about the ceremony established by a run.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Ceremony id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceremony_id: Option<String>,
    /// Dfns key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Fingerprint of the encryption key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_key_fingerprint: Option<String>,
    /// Scheme of the response, `PROTOCOL:CURVE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Verified public key (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Signers whose shares were used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used_signers: Vec<String>,
    /// Signers whose shares were set aside.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bad_signers: Vec<String>,
    /// Custody parts made (`init`) or used and set aside (`reconstruct`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyFacts>,
    /// Key files overwritten and removed by `--destroy-decryption-key` (absolute paths;
    /// in the transcript, relative to its folder when inside it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destroyed: Vec<String>,
    /// `init`: the rehearsal override let passphrases below the floor seal the key.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub short_passphrase_allowed: bool,
    /// `init --canary`: the request requires a canary export first; `reconstruct`: the
    /// response rebuilt is the canary's (its `keyId` is the throwaway key's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
    /// `reconstruct` of the canary: the receipt written (its public fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_receipt: Option<CanaryReceiptFacts>,
    /// `sign`: SHA-256 of the message signed (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_sha256: Option<String>,
    /// `sign`: the signature made and what it covers (public data only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<crate::sign::SignedMessage>,
    /// `sign`: blind or checked, the transaction signed and every signature made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<crate::sign::tx::SigningRecord>,
    /// `sign --derive`: the path of the child key that signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation_path: Option<String>,
}

/// The canary receipt `reconstruct` wrote, as the transcript records it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryReceiptFacts {
    /// The throwaway key's Dfns id.
    pub canary_key_id: String,
    /// `ecdsa-secp256k1`, `ed25519` or `stark-ecdsa`.
    pub signature_scheme: &'static str,
    /// The signature (hex; public).
    pub signature: String,
}

/// Public custody facts recorded in the transcript.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustodyFacts {
    /// Parts needed (`K`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u8>,
    /// Parts made (`M`), at `init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custodians: Option<u8>,
    /// Parts made at `init`: label, index and how each is sealed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartRecord>,
    /// The commitment set of the parts made (`init`) or used (`reconstruct`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitments_sha256: Option<CommitmentsDigest>,
    /// Labels of the parts used by `reconstruct`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<String>,
    /// Parts set aside by `reconstruct`: `label (path): reason`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
}

/// One part as recorded at `init`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartRecord {
    /// Custodian label.
    pub label: String,
    /// Share index `i`.
    pub index: u8,
    /// `passphrase` or the age recipient it is sealed to.
    pub sealed_with: String,
}

/// One transcript line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// RFC 3339 UTC time of the run.
    pub time: String,
    /// The subcommand (`init`, `reconstruct`, `sign`).
    pub command: &'static str,
    /// Tool name and version.
    pub tool_version: &'static str,
    /// The build of the binary that wrote the line (as `version --json` prints it).
    pub build: BuildInfo,
    /// Whether the air-gap guard was overridden.
    pub allow_online: bool,
    /// Public facts.
    #[serde(flatten)]
    pub facts: Facts,
    /// Artifacts read.
    pub inputs: Vec<ArtifactRecord>,
    /// Artifacts written.
    pub outputs: Vec<ArtifactRecord>,
    /// Result.
    pub outcome: Outcome,
}

impl Entry {
    /// A new entry stamped now, with nothing recorded yet.
    pub fn new(command: &'static str, allow_online: bool) -> Self {
        Entry {
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            command,
            tool_version: TOOL_VERSION,
            build: keyexport_shared::build_info!(),
            allow_online,
            facts: Facts::default(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            outcome: Outcome::Ok,
        }
    }
}

impl Entry {
    /// The same entry naming the files inside `folder` (the transcript's) relative to it, so
    /// the ceremony folder can be moved or copied and still verify; files elsewhere (a
    /// passphrase file or a custody part on another stick, a key written to another folder)
    /// keep their absolute path, which names them whatever folder a later run starts from.
    fn relative_to(&self, folder: &Path) -> Entry {
        let mut entry = self.clone();
        let Ok(folder) = std::path::absolute(folder) else {
            return entry;
        };
        for record in entry.inputs.iter_mut().chain(entry.outputs.iter_mut()) {
            record.path = relative(&record.path, &folder);
        }
        for destroyed in &mut entry.facts.destroyed {
            *destroyed = relative(destroyed, &folder);
        }
        entry
    }
}

/// `path` (absolute, or `-`) relative to `folder` when it is inside it.
fn relative(path: &str, folder: &Path) -> String {
    match Path::new(path).strip_prefix(folder) {
        Ok(inside) if !inside.as_os_str().is_empty() => inside.display().to_string(),
        _ => path.to_owned(),
    }
}

/// Appends `entry` as one chained line to the transcript at `path` (created if absent)
/// and returns the new head (SHA-256 of the line).
pub fn append(path: &Path, entry: &Entry) -> CliResult<String> {
    let entry = &entry.relative_to(&parent_dir(path));
    let internal = |e: serde_json::Error| CliError::Internal(format!("transcript entry: {e}"));
    let Value::Object(mut map) = serde_json::to_value(entry).map_err(internal)? else {
        return Err(CliError::Internal(
            "a transcript entry is a JSON object".into(),
        ));
    };
    let artifacts: Vec<Value> = entry
        .inputs
        .iter()
        .chain(&entry.outputs)
        .filter_map(ArtifactRecord::verifiable)
        .collect();
    map.insert("artifacts".into(), Value::Array(artifacts));
    keyexport_shared::transcript::append(path, map).map_err(|source| CliError::Shared {
        input: None,
        source,
    })
}

/// Refuses, before a run does anything, a transcript path that appending would refuse (a
/// planted symbolic link, a folder, a pipe), so no key is written by a run that cannot be
/// recorded.
pub fn check_target(path: &Path) -> CliResult<()> {
    keyexport_shared::fsio::check_appendable(path).map_err(|source| CliError::Shared {
        input: None,
        source,
    })
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_the_transcript_folder_are_named_relative_to_it() {
        let tmp = tempfile::tempdir().unwrap();
        let ceremony = tmp.path().join("ceremony");
        std::fs::create_dir(&ceremony).unwrap();
        let inside = ceremony.join("request.json");
        std::fs::write(&inside, b"request").unwrap();
        let outside = tmp.path().join("key.hex");
        std::fs::write(&outside, b"key").unwrap();
        let path = ceremony.join(FILE_NAME);
        let mut entry = Entry::new("reconstruct", false);
        entry.inputs.push(ArtifactRecord::new(
            "request",
            &inside.display().to_string(),
            b"request",
        ));
        entry
            .inputs
            .push(ArtifactRecord::new("response", "-", b"r"));
        entry.outputs.push(ArtifactRecord::new(
            "key-output",
            &outside.display().to_string(),
            b"key",
        ));
        entry.facts.destroyed = vec![ceremony.join("decryption-key.age").display().to_string()];
        append(&path, &entry).unwrap();

        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        assert_eq!(line["inputs"][0]["path"], "request.json");
        assert_eq!(line["inputs"][1]["path"], "-");
        assert_eq!(line["outputs"][0]["path"], outside.display().to_string());
        assert_eq!(line["destroyed"][0], "decryption-key.age");
        assert_eq!(line["artifacts"][0]["path"], "request.json");
        // The folder verifies where it is, and moved elsewhere with its files.
        let report = keyexport_shared::transcript::verify(&path).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(report.artifacts_ok, 2);
        let moved = tmp.path().join("moved");
        std::fs::rename(&ceremony, &moved).unwrap();
        let report = keyexport_shared::transcript::verify(&moved.join(FILE_NAME)).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(report.artifacts_ok, 2);
    }

    #[test]
    fn transcripts_with_absolute_paths_still_verify() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("request.json");
        std::fs::write(&file, b"request").unwrap();
        let path = tmp.path().join(FILE_NAME);
        // A line as earlier releases wrote it: every path absolute.
        let mut map = serde_json::Map::new();
        map.insert("command".into(), "init".into());
        map.insert(
            "artifacts".into(),
            serde_json::json!([{"path": file.display().to_string(), "sha256": sha256_hex(b"request")}]),
        );
        keyexport_shared::transcript::append(&path, map).unwrap();
        let report = keyexport_shared::transcript::verify(&path).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(report.artifacts_ok, 1);
    }

    #[test]
    fn appends_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        let mut entry = Entry::new("init", false);
        entry
            .inputs
            .push(ArtifactRecord::new("request", "r.json", b"abc"));
        entry
            .inputs
            .push(ArtifactRecord::passphrase_file(Path::new("pass.txt")));
        let head = append(&path, &entry).unwrap();
        assert_eq!(head.len(), 64);
        let mut second = Entry::new("reconstruct", true);
        second.outcome = Outcome::Failed {
            kind: "decrypt",
            message: "m".into(),
        };
        append(&path, &second).unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["command"], "init");
        assert_eq!(
            lines[0]["inputs"][0]["sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(lines[0]["inputs"][1].get("sha256").is_none());
        assert_eq!(lines[0]["seq"], 0);
        assert_eq!(lines[1]["seq"], 1);
        assert_eq!(lines[0]["artifacts"].as_array().unwrap().len(), 1);
        // r.json is in the working folder, not the transcript's: named absolute.
        assert!(
            lines[0]["artifacts"][0]["path"]
                .as_str()
                .unwrap()
                .ends_with("/r.json")
        );
        let report = keyexport_shared::transcript::verify(&path).unwrap();
        assert_eq!(report.lines, 2);
        assert_eq!(lines[0]["outcome"]["status"], "ok");
        assert_eq!(lines[1]["outcome"]["status"], "failed");
        assert_eq!(lines[1]["outcome"]["kind"], "decrypt");
        assert_eq!(lines[1]["allowOnline"], true);
        assert_eq!(lines[1]["build"]["name"], "keyexport-offline");
        assert_eq!(lines[1]["build"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(
            lines[1]["build"]["rustc"]
                .as_str()
                .unwrap()
                .starts_with("rustc ")
        );
        assert!(
            lines[1]["toolVersion"]
                .as_str()
                .unwrap()
                .starts_with("keyexport-offline ")
        );
    }
}
