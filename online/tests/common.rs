//! Shared setup: a sandbox, a request for one of its keys, and the binary pointed at it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use keyexport_shared::files::{Artifact, CeremonyId, KeyId, RequestFile};
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::{Reconstruction, reconstruct};
use keyexport_shared::scheme::Scheme;
use keyexport_shared::wire::{ExportRequestBody, ExportResponse};
use sandbox::{KeySpec, Sandbox, SandboxConfig};

/// One ceremony's worth of state.
pub struct Ceremony {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub key_id: String,
    pub decryption_key: DecryptionKey,
    pub request: PathBuf,
}

/// A sandbox with one 2-of-3 key of `scheme` and the given faults/credential.
pub fn ceremony(scheme: &str, config: SandboxConfig) -> Ceremony {
    let mut config = config;
    if config.keys.is_empty() {
        config.keys = vec![KeySpec::new(scheme.parse().unwrap())];
    }
    let sandbox = Sandbox::start(config).unwrap();
    let key_id = sandbox.keys()[0].id.clone();
    let dir = tempfile::tempdir().unwrap();
    let (decryption_key, request) = write_request(dir.path(), &key_id, Scheme::all());
    Ceremony {
        sandbox,
        dir,
        key_id,
        decryption_key,
        request,
    }
}

/// Writes `request.json` for `key_id` in `dir` as `keyexport-offline init` does.
pub fn write_request(dir: &Path, key_id: &str, schemes: Vec<Scheme>) -> (DecryptionKey, PathBuf) {
    let decryption_key = DecryptionKey::generate();
    let file = RequestFile::new(
        CeremonyId::generate(),
        KeyId::new(key_id).unwrap(),
        ExportRequestBody {
            encryption_key: decryption_key.encryption_key(),
            supported_schemes: schemes,
        },
        "2026-01-01T00:00:00Z".into(),
        "test".into(),
    );
    let path = dir.join("request.json");
    std::fs::write(&path, file.to_bytes()).unwrap();
    (decryption_key, path)
}

/// `keyexport-online` with the sandbox's environment and nothing else from Dfns.
pub fn online(sandbox: &Sandbox) -> Command {
    let mut cmd = Command::cargo_bin("keyexport-online").unwrap();
    for name in [
        "DFNS_API_URL",
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "DFNS_PRIVATE_KEY_FILE",
    ] {
        cmd.env_remove(name);
    }
    for (name, value) in sandbox.env() {
        cmd.env(name, value);
    }
    // Standard input is a pipe, never the developer's terminal.
    cmd.write_stdin("");
    cmd
}

/// `submit --request <request> --yes --json`, with the output next to the request.
pub fn submit(c: &Ceremony) -> Command {
    let mut cmd = online(&c.sandbox);
    cmd.arg("submit")
        .arg("--request")
        .arg(&c.request)
        .args(["--yes", "--json"]);
    cmd
}

/// The response file written in `dir`, parsed.
pub fn saved_response(dir: &Path) -> ExportResponse {
    let bytes = std::fs::read(dir.join("response.json")).unwrap();
    match Artifact::parse(&bytes).unwrap() {
        Artifact::Response(file) => file.export_response().unwrap(),
        other => panic!("expected a response file, got {}", other.describe()),
    }
}

/// Decrypts and rebuilds the saved response, and checks the key is the sandbox's.
pub fn rebuild_and_compare(c: &Ceremony, dir: &Path) -> Reconstruction {
    let response = saved_response(dir);
    let rebuilt = reconstruct(&response, &c.decryption_key).unwrap();
    let expected = c.sandbox.private_key_hex(&c.key_id).unwrap();
    assert_eq!(rebuilt.private_key.to_hex().as_str(), expected.as_str());
    rebuilt
}

/// How many export calls the sandbox received.
pub fn export_calls(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/export"))
        .count()
}

/// Whether the sandbox marks the key exported.
pub fn is_exported(sandbox: &Sandbox, key_id: &str) -> bool {
    sandbox.keys().iter().any(|k| k.id == key_id && k.exported)
}

/// stdout parsed as one JSON object.
pub fn json_out(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
