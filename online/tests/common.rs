//! The fixture of every test: a sandbox, a request for its keys (one key, or a batch), and
//! the binary pointed at it — run to its end, or spawned to be interrupted.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use keyexport_shared::files::batch::BatchRequestFile;
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
    /// The request's key (a batch request's first key).
    pub key_id: String,
    pub decryption_key: DecryptionKey,
    pub request: PathBuf,
    /// The request's ceremony id.
    pub ceremony_id: CeremonyId,
}

/// What the ceremony's request asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asks {
    /// Every key of the sandbox (a batch request) rather than the first.
    pub batch: bool,
    /// A canary first, as `init --canary` asks.
    pub canary: bool,
}

/// A sandbox with one 2-of-3 key of `scheme` and the given faults/credential.
pub fn ceremony(scheme: &str, config: SandboxConfig) -> Ceremony {
    ceremony_asking(scheme, config, Asks::default())
}

/// [`ceremony`], whose request asks for `asks`.
pub fn ceremony_asking(scheme: &str, config: SandboxConfig, asks: Asks) -> Ceremony {
    let mut config = config;
    if config.keys.is_empty() {
        config.keys = vec![KeySpec::new(scheme.parse().unwrap())];
    }
    Ceremony::asking(config, asks)
}

impl Ceremony {
    /// A sandbox with `config` (which names its keys), and a request for its first key or,
    /// for a batch, all of them, written as `keyexport-offline init` does.
    pub fn asking(config: SandboxConfig, asks: Asks) -> Ceremony {
        let sandbox = Sandbox::start(config).unwrap();
        let key_ids: Vec<String> = sandbox.keys().into_iter().map(|k| k.id).collect();
        let dir = tempfile::tempdir().unwrap();
        let written = if asks.batch {
            Written::batch(dir.path(), &key_ids, asks.canary)
        } else {
            Written::single(dir.path(), &key_ids[0], Scheme::all(), asks.canary)
        };
        Ceremony {
            sandbox,
            dir,
            key_id: key_ids[0].clone(),
            decryption_key: written.decryption_key,
            request: written.path,
            ceremony_id: written.ceremony_id,
        }
    }

    /// `submit --request <request> --yes --json`, run to its end.
    pub fn run(&self) -> Output {
        submit(self).output().unwrap()
    }

    /// [`Ceremony::run`], which must succeed.
    pub fn run_ok(&self) -> Output {
        let output = self.run();
        assert!(output.status.success(), "{}", stderr(&output));
        output
    }

    /// `submit --yes --request REQUEST`, without `--json`: what the operator reads.
    pub fn submit_text(&self, request: &Path) -> Command {
        let mut cmd = online(&self.sandbox);
        cmd.args(["submit", "--yes", "--request"]).arg(request);
        cmd
    }

    /// `show FILE`.
    pub fn show(&self, file: &Path) -> Command {
        let mut cmd = online(&self.sandbox);
        cmd.arg("show").arg(file);
        cmd
    }

    /// A new, empty folder `name` in the ceremony's folder (for `--out`).
    pub fn new_folder(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        path
    }
}

/// A `request.json` written as `keyexport-offline init` does.
pub struct Written {
    pub decryption_key: DecryptionKey,
    pub path: PathBuf,
    pub ceremony_id: CeremonyId,
}

impl Written {
    /// The request for `key_id` in `dir`, listing `schemes`.
    pub fn single(dir: &Path, key_id: &str, schemes: Vec<Scheme>, canary: bool) -> Written {
        Written::with(dir, schemes, |ceremony_id, body| {
            RequestFile::new(
                ceremony_id,
                KeyId::new(key_id).unwrap(),
                body,
                "2026-01-01T00:00:00Z".into(),
                "test".into(),
            )
            .with_canary(canary)
            .to_bytes()
        })
    }

    /// The batch request for `key_ids` in `dir`.
    pub fn batch(dir: &Path, key_ids: &[String], canary: bool) -> Written {
        Written::with(dir, Scheme::all(), |ceremony_id, body| {
            BatchRequestFile::new(
                ceremony_id,
                key_ids.iter().map(|id| KeyId::new(id).unwrap()).collect(),
                body,
                "2026-01-01T00:00:00Z".into(),
                "test".into(),
            )
            .with_canary(canary)
            .to_bytes()
        })
    }

    /// A new decryption key and ceremony; `file` makes the request's bytes from the
    /// ceremony id and the export body (to that key, listing `schemes`).
    fn with(
        dir: &Path,
        schemes: Vec<Scheme>,
        file: impl FnOnce(CeremonyId, ExportRequestBody) -> Vec<u8>,
    ) -> Written {
        let decryption_key = DecryptionKey::generate();
        let ceremony_id = CeremonyId::generate();
        let body = ExportRequestBody {
            encryption_key: decryption_key.encryption_key(),
            supported_schemes: schemes,
        };
        let path = dir.join("request.json");
        std::fs::write(&path, file(ceremony_id.clone(), body)).unwrap();
        Written {
            decryption_key,
            path,
            ceremony_id,
        }
    }
}

/// Writes `request.json` for `key_id` in `dir` as `keyexport-offline init` does.
pub fn write_request(dir: &Path, key_id: &str, schemes: Vec<Scheme>) -> (DecryptionKey, PathBuf) {
    let written = Written::single(dir, key_id, schemes, false);
    (written.decryption_key, written.path)
}

/// Writes a batch `request.json` for `key_ids` in `dir`, as `keyexport-offline init` does.
pub fn write_batch_request(dir: &Path, key_ids: &[String]) -> (DecryptionKey, PathBuf) {
    let written = Written::batch(dir, key_ids, false);
    (written.decryption_key, written.path)
}

/// A batch ceremony: a sandbox, a batch request for `key_ids` (some may be unknown to the
/// sandbox), and its responses folder (beside the request).
pub struct BatchCeremony {
    pub sandbox: Sandbox,
    /// Holds the request and the responses folder; removed when the test ends.
    _dir: tempfile::TempDir,
    pub key_ids: Vec<String>,
    pub decryption_key: DecryptionKey,
    pub request: PathBuf,
    pub responses: PathBuf,
}

impl BatchCeremony {
    /// A sandbox with `config`, and a batch request for `key_ids`.
    pub fn new(config: SandboxConfig, key_ids: Vec<String>) -> BatchCeremony {
        BatchCeremony::start(config, |_| key_ids)
    }

    /// A sandbox with `keys`, and a batch request for every one of them.
    pub fn of(keys: Vec<KeySpec>) -> BatchCeremony {
        BatchCeremony::start(SandboxConfig::with_keys(keys), |sandbox| {
            sandbox.keys().into_iter().map(|k| k.id).collect()
        })
    }

    fn start(
        config: SandboxConfig,
        key_ids: impl FnOnce(&Sandbox) -> Vec<String>,
    ) -> BatchCeremony {
        let sandbox = Sandbox::start(config).unwrap();
        let key_ids = key_ids(&sandbox);
        let dir = tempfile::tempdir().unwrap();
        let (decryption_key, request) = write_batch_request(dir.path(), &key_ids);
        let responses = dir.path().join("responses");
        BatchCeremony {
            sandbox,
            _dir: dir,
            key_ids,
            decryption_key,
            request,
            responses,
        }
    }

    /// `submit --request <request> --yes --json ARGS` as a std command (to be spawned,
    /// killed or interrupted).
    pub fn submit(&self, args: &[&str]) -> std::process::Command {
        self.submit_request(&self.request, args)
    }

    /// [`BatchCeremony::submit`] of another request file.
    pub fn submit_request(&self, request: &Path, args: &[&str]) -> std::process::Command {
        submit_process(&self.sandbox, request, args)
    }

    /// [`BatchCeremony::submit`], run to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.submit(args).output().unwrap()
    }
}

/// The variables through which the binary finds Dfns: only the sandbox's are set.
const DFNS_VARIABLES: [&str; 5] = [
    "DFNS_API_URL",
    "DFNS_AUTH_TOKEN",
    "DFNS_CRED_ID",
    "DFNS_PRIVATE_KEY",
    "DFNS_PRIVATE_KEY_FILE",
];

/// `keyexport-online` with the sandbox's environment and nothing else from Dfns.
pub fn online(sandbox: &Sandbox) -> Command {
    let mut cmd = Command::cargo_bin("keyexport-online").unwrap();
    for name in DFNS_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(sandbox.env());
    // Standard input is a pipe, never the developer's terminal.
    cmd.write_stdin("");
    cmd
}

/// The binary under test.
pub fn online_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keyexport-online")
}

/// [`online`] as a std command, to spawn it without waiting.
pub fn online_process(sandbox: &Sandbox) -> std::process::Command {
    let mut cmd = std::process::Command::new(online_bin());
    for name in DFNS_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(sandbox.env()).stdin(Stdio::null());
    cmd
}

/// `submit --request REQUEST --yes --json ARGS` against `sandbox`, as a std command.
pub fn submit_process(sandbox: &Sandbox, request: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = online_process(sandbox);
    cmd.arg("submit")
        .arg("--request")
        .arg(request)
        .args(["--yes", "--json"])
        .args(args);
    cmd
}

/// `submit --yes --request <request> --json`, with the output next to the request.
pub fn submit(c: &Ceremony) -> Command {
    let mut cmd = c.submit_text(&c.request);
    cmd.arg("--json");
    cmd
}

/// `submit` as a std command with the same arguments and environment as `cmd`.
pub fn process_of(cmd: &Command) -> std::process::Command {
    let mut std_cmd = std::process::Command::new(cmd.get_program());
    std_cmd.args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(v) => std_cmd.env(name, v),
            None => std_cmd.env_remove(name),
        };
    }
    std_cmd.stdin(Stdio::null());
    std_cmd
}

/// Starts `cmd` with its output captured.
pub fn spawn(cmd: &mut std::process::Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the sandbox has received an export call.
pub fn wait_for_export(sandbox: &Sandbox) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while export_calls(sandbox) == 0 {
        assert!(Instant::now() < deadline, "no export was sent");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGINT (Ctrl-C) to a child process.
pub fn ctrl_c(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
pub fn json_out(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
