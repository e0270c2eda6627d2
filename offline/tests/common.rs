//! Helpers shared by the CLI tests: a command with the test environment, vector loading.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use assert_cmd::Command;
use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::files::{Artifact, CeremonyId, KeyId, RequestFile, ResponseFile, sha256_hex};
use rand_core::OsRng;
use serde_json::Value;

/// Passphrase used by every test ceremony.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The test environment: the air-gap guard overridden (the test machine is online) and
/// the fast scrypt work factor of test builds.
pub const TEST_ENV: [(&str, &str); 2] = [
    ("KEYEXPORT_ALLOW_ONLINE", "1"),
    ("KEYEXPORT_TEST_SCRYPT_LOG_N", "2"),
];

/// The binary with the test environment: air-gap override, fast scrypt.
pub fn offline() -> Command {
    let mut cmd = Command::cargo_bin("keyexport-offline").expect("binary is built by cargo test");
    cmd.envs(TEST_ENV).env_remove("KEYEXPORT_TEST_SYSFS_NET");
    cmd
}

/// [`offline`] without a controlling terminal (run by `setsid`), even when the tests run in
/// one, so nothing can be asked on it.
pub fn offline_without_terminal() -> Command {
    let mut cmd = Command::new("setsid");
    cmd.arg(assert_cmd::cargo::cargo_bin("keyexport-offline"))
        .envs(TEST_ENV)
        .env_remove("KEYEXPORT_TEST_SYSFS_NET");
    cmd
}

/// The repository's copy of the vectors (`shared/tests/vectors`; CI checks it against the published ones).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/vectors")
}

/// Every vector of every vector file of the folder (found by listing it), as JSON values.
pub fn all_vectors() -> Vec<Value> {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the vectors folder is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            // `NAME.meta.json` describes how NAME.json was made: metadata, not vectors.
            name.ends_with(".json") && !name.ends_with(".meta.json")
        })
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let value: Value = serde_json::from_slice(&std::fs::read(&file).expect("readable"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let list = match value {
            Value::Array(list) => list,
            Value::Object(mut object) => match object.remove("vectors") {
                Some(Value::Array(list)) => list,
                _ => panic!("{}: no vectors array", file.display()),
            },
            _ => panic!("{}: neither an array nor {{vectors}}", file.display()),
        };
        all.extend(list);
    }
    all
}

/// The vector called `name`.
pub fn vector(name: &str) -> Value {
    all_vectors()
        .into_iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// Writes a passphrase file into `dir` and returns its path.
pub fn passphrase_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{content}\n")).expect("tempdir is writable");
    path
}

/// A ceremony with a response: a temporary folder holding a decryption key and the export
/// response it opens, and the `reconstruct` invocation over them.
pub struct Ceremony {
    dir: tempfile::TempDir,
    /// The decryption key file (a vector's plain `01<64 hex>` key).
    pub key: PathBuf,
    /// The raw Dfns response file.
    pub response: PathBuf,
    /// The vector it was made from.
    pub vector: Value,
}

impl Ceremony {
    /// The plain decryption key and the response of the vector `name`, in a new folder.
    pub fn from_vector(name: &str) -> Ceremony {
        Ceremony::of(vector(name))
    }

    /// The plain decryption key and the response of `vector`, in a new folder.
    pub fn of(vector: Value) -> Ceremony {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (key, response) = vector_files(dir.path(), &vector);
        Ceremony {
            dir,
            key,
            response,
            vector,
        }
    }

    /// The ceremony's folder (the transcript goes there, beside the key).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `keyexport-offline reconstruct --decryption-key KEY --response RESPONSE`, to which a
    /// test adds its flags.
    pub fn reconstruct(&self) -> Command {
        reconstruct(&self.key, &self.response)
    }

    /// The private key the vector expects (hex).
    pub fn expected_key(&self) -> &str {
        self.vector["expected"]["privateKey"]
            .as_str()
            .expect("the vector names its key")
    }
}

/// `keyexport-offline reconstruct --decryption-key KEY --response RESPONSE`, to which a
/// test adds its flags.
pub fn reconstruct(key: &Path, response: &Path) -> Command {
    let mut cmd = offline();
    cmd.args(["reconstruct", "--decryption-key", s(key)])
        .args(["--response", s(response)]);
    cmd
}

/// A fake `/sys/class/net` under `root` (read through `KEYEXPORT_TEST_SYSFS_NET`): one
/// folder per interface `(name, operstate, flags, type)`.
pub fn fake_sysfs(root: &Path, interfaces: &[(&str, &str, &str, &str)]) {
    for (name, operstate, flags, kind) in interfaces {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("tempdir is writable");
        std::fs::write(dir.join("operstate"), operstate).expect("tempdir is writable");
        std::fs::write(dir.join("flags"), flags).expect("tempdir is writable");
        std::fs::write(dir.join("type"), kind).expect("tempdir is writable");
    }
}

/// A ceremony as `init` makes it: one key, sealed with [`PASSPHRASE`] read from a file, in
/// `ROOT/ceremony`, and a CGGMP24 secp256k1 2-of-3 response dealt to its encryption key in
/// `ROOT/response.json`; [`SealedCeremony::deal`] deals more.
pub struct SealedCeremony {
    /// The folder holding the ceremony (and the files a test writes beside it).
    pub root: PathBuf,
    /// The folder `init` wrote.
    pub dir: PathBuf,
    /// The file holding the sealed key's passphrase.
    pub passphrase_file: PathBuf,
    /// The raw Dfns response.
    pub response: PathBuf,
    /// What `init` printed.
    pub init: std::process::Output,
    /// The request `init` wrote, as bytes and parsed.
    pub request_bytes: Vec<u8>,
    /// The request, parsed.
    pub request: RequestFile,
}

impl SealedCeremony {
    /// Runs `init --key-id KEY_ID --scheme CGGMP24:secp256k1` under `root` and deals the
    /// response.
    pub fn new(root: &Path, key_id: &str) -> SealedCeremony {
        SealedCeremony::init(root, key_id, &["--scheme", "CGGMP24:secp256k1"])
    }

    /// The same, with the request offering every scheme (init's default).
    pub fn every_scheme(root: &Path, key_id: &str) -> SealedCeremony {
        SealedCeremony::init(root, key_id, &[])
    }

    fn init(root: &Path, key_id: &str, flags: &[&str]) -> SealedCeremony {
        let passphrase_file = passphrase_file(root, "pass.txt", PASSPHRASE);
        let dir = root.join("ceremony");
        let init = offline()
            .args(["init", "--key-id", key_id, "--out", s(&dir)])
            .args(flags)
            .args(["--passphrase-file", s(&passphrase_file)])
            .output()
            .expect("init runs");
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let response = root.join("response.json");
        deal_raw_response(&dir, &response);
        let request_bytes = std::fs::read(dir.join("request.json")).expect("init wrote a request");
        let Ok(Artifact::Request(request)) = Artifact::parse(&request_bytes) else {
            panic!("init wrote something else than a request");
        };
        SealedCeremony {
            root: root.to_path_buf(),
            dir,
            passphrase_file,
            response,
            init,
            request_bytes,
            request,
        }
    }

    /// A `scheme` key, `t`-of-`n`, dealt to the request's encryption key (as Dfns would
    /// export it).
    pub fn deal(&self, scheme: &str, t: usize, n: usize) -> Dealt {
        Deal::new(scheme.parse().expect("a scheme"), t, n)
            .run(&self.request.dfns_request.encryption_key, &mut OsRng)
    }

    /// Writes the raw Dfns body of `dealt` as `ROOT/NAME` and returns its path.
    pub fn raw_response(&self, dealt: &Dealt, name: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(
            &path,
            serde_json::to_vec(&dealt.response.to_json_value()).expect("JSON"),
        )
        .expect("tempdir is writable");
        path
    }

    /// Writes a keyexport response file of `dealt` naming `ceremony` and `key` (and this
    /// request's digest) as `ROOT/NAME` and returns its path.
    pub fn response_file(
        &self,
        dealt: &Dealt,
        ceremony: CeremonyId,
        key: KeyId,
        name: &str,
    ) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(
            &path,
            response_file(dealt, ceremony, key, &self.request_bytes).to_bytes(),
        )
        .expect("tempdir is writable");
        path
    }

    /// The sealed decryption key `init` wrote.
    pub fn sealed(&self) -> PathBuf {
        self.dir.join("decryption-key.age")
    }

    /// `keyexport-offline reconstruct --decryption-key SEALED --passphrase-file PASS`, to
    /// which a test adds `--response` and its flags.
    pub fn reconstruct(&self) -> Command {
        let mut cmd = offline();
        cmd.args(["reconstruct", "--decryption-key", s(&self.sealed())])
            .args(["--passphrase-file", s(&self.passphrase_file)]);
        cmd
    }
}

/// The keyexport response file `keyexport-online` would write for `dealt`, naming
/// `ceremony` and `key` and the digest of the request `request_bytes`.
pub fn response_file(
    dealt: &Dealt,
    ceremony: CeremonyId,
    key: KeyId,
    request_bytes: &[u8],
) -> ResponseFile {
    let body = serde_json::to_string(&dealt.response.to_json_value()).expect("JSON");
    ResponseFile::new(
        ceremony,
        key,
        sha256_hex(request_bytes),
        "2026-11-28T18:00:00Z".into(),
        "keyexport-online 0.1.0".into(),
        "0".repeat(64),
        &body,
    )
    .expect("a JSON body")
}

/// Writes the vector's plain decryption key and response into `dir`.
pub fn vector_files(dir: &Path, v: &Value) -> (PathBuf, PathBuf) {
    let key = dir.join("decryption-key.hex");
    std::fs::write(
        &key,
        format!("{}\n", v["decryptionKey"].as_str().expect("hex")),
    )
    .expect("tempdir is writable");
    let response = dir.join("response.json");
    std::fs::write(&response, serde_json::to_vec(&v["response"]).expect("json"))
        .expect("tempdir is writable");
    (key, response)
}

/// `reconstruct` of the plain decryption key and the response [`vector_files`] writes,
/// named from inside their folder.
pub const RECONSTRUCT_VECTOR: [&str; 5] = [
    "reconstruct",
    "--decryption-key",
    "decryption-key.hex",
    "--response",
    "response.json",
];

/// A new temporary folder holding the vector `name`'s plain decryption key and response
/// (as [`vector_files`] names them).
pub fn vector_folder(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    vector_files(tmp.path(), &vector(name));
    tmp
}

/// Runs `keyexport-offline ARGS` inside `dir` (so file names are short and fixed) as on a
/// real machine: no air-gap override, the real scrypt work factor, and the network
/// interfaces `interfaces` (`(name, operstate)`, read from a fake sysfs in `dir`).
pub fn run_on_machine(
    dir: &Path,
    interfaces: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let sysfs = dir.join("sysfs-net");
    for (name, state) in interfaces {
        let (flags, kind) = if *name == "lo" {
            ("0x9\n", "772\n")
        } else {
            ("0x1003\n", "1\n")
        };
        fake_sysfs(&sysfs, &[(name, &format!("{state}\n"), flags, kind)]);
    }
    offline()
        .current_dir(dir)
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env_remove("KEYEXPORT_TEST_SCRYPT_LOG_N")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Only the loopback interface: an offline machine for [`run_on_machine`].
pub const OFFLINE_MACHINE: &[(&str, &str)] = &[("lo", "unknown")];

/// Asserts that a run succeeded, showing its standard error when it did not.
pub fn assert_success(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Parses the single JSON object a `--json` run prints.
pub fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Entries of `dir`, sorted, as names.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir is readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Opens a passphrase-sealed age file with the age crate itself (not the tool's code).
pub fn age_open(path: &Path, passphrase: &str) -> Vec<u8> {
    let sealed = std::fs::read(path).expect("the sealed file is readable");
    let decryptor =
        age::Decryptor::new(age::armor::ArmoredReader::new(&sealed[..])).expect("an age file");
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    let mut plaintext = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .expect("the passphrase opens it")
        .read_to_end(&mut plaintext)
        .expect("the payload is readable");
    plaintext
}

/// Seals `plaintext` with `passphrase` as `age -p` does (binary age, scrypt), with the
/// test build's fast work factor 2.
pub fn age_seal(passphrase: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(2);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .expect("one recipient");
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed).expect("in memory");
    writer.write_all(plaintext).expect("in memory");
    writer.finish().expect("in memory");
    sealed
}

/// Deals a CGGMP24 secp256k1 2-of-3 key to the encryption key of the single-key request in
/// `ceremony` (as Dfns would export it) and writes the raw Dfns response to `out`.
pub fn deal_raw_response(ceremony: &Path, out: &Path) -> Dealt {
    let bytes = std::fs::read(ceremony.join("request.json")).expect("init wrote a request");
    let Ok(Artifact::Request(request)) = Artifact::parse(&bytes) else {
        panic!(
            "{} is not a request",
            ceremony.join("request.json").display()
        );
    };
    let dealt = Deal::new("CGGMP24:secp256k1".parse().expect("a scheme"), 2, 3)
        .run(&request.dfns_request.encryption_key, &mut OsRng);
    std::fs::write(
        out,
        serde_json::to_vec(&dealt.response.to_json_value()).expect("JSON"),
    )
    .expect("tempdir is writable");
    dealt
}

/// Path as a `&str` for command arguments.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Whether `stderr` shows `text`, across the line breaks and edges of a warning box
/// wrapped to 80 columns: whitespace and `!` are ignored on both sides.
pub fn shows(stderr: &str, text: &str) -> bool {
    let squash = |t: &str| {
        t.chars()
            .filter(|c| !c.is_whitespace() && *c != '!')
            .collect::<String>()
    };
    squash(stderr).contains(&squash(text))
}

/// [`shows`] as a predicate on a command's standard error.
pub fn shown(text: impl Into<String>) -> impl predicates::Predicate<[u8]> {
    use predicates::str::PredicateStrExt as _;
    let text = text.into();
    predicates::function::function(move |stderr: &str| shows(stderr, &text)).from_utf8()
}
