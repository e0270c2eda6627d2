//! The documentation cannot go stale: every command shown in `README.md` is run or checked,
//! and the worked example of `docs/formats.md` is parsed, decrypted and rebuilt with the
//! current code and binaries.
//!
//! Code-block conventions (also stated at the bottom of `README.md`):
//!
//! - ` ```sh ` — every line is a command. Lines of `README.md` are run in order, in one
//!   temporary folder, against a sandbox, and must exit 0. `KEY_ID` and `AGE_RECIPIENT`
//!   are replaced; there is no terminal, so `--passphrase-file` is added to
//!   `keyexport-offline init`/`reconstruct` and `--yes` to `keyexport-online submit`.
//!   `cargo run --release -p sandbox -- ARGS` runs the sandbox binary with `ARGS`; any
//!   other `cargo` line must appear verbatim in `.ci/run`, which CI executes, or be the
//!   release build that `scripts/build-release.sh` runs for `.ci/release-checks.sh`.
//! - ` ```sh no-run ` — not run (real Dfns, real machines). Every `keyexport-*` and
//!   `dfns-sandbox` line, in the README and in `docs/runbook.md`, is checked against the
//!   `--help` of its subcommand: the subcommand and every `--flag` must exist.
//! - ` ```<lang> example:<name> ` in `docs/formats.md` — the worked example's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyexport_shared::files::{Artifact, sha256_hex};
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::scheme::Scheme;
use keyexport_shared::transport::{FrameOptions, encode_frames};
use sandbox::{CredentialKind, KeySpec, Sandbox, SandboxConfig};

/// A valid age X25519 recipient (the example of age's own README); the test only checks
/// that the output is an age file, it never needs the matching identity.
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

/// One fenced code block of a Markdown file.
#[derive(Debug)]
struct Block {
    /// The info string after the opening fence, e.g. `sh no-run`.
    info: String,
    /// The block's text, each line ending in `\n`.
    text: String,
    /// Line number of the opening fence, for messages.
    line: usize,
}

/// The fenced code blocks of `markdown`, fences at any indentation.
fn code_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let block = Block {
                        info: info.trim().to_owned(),
                        text: String::new(),
                        line: number + 1,
                    };
                    open = Some((block, indent));
                }
            }
            Some((block, _)) if trimmed == "```" => blocks.push(block),
            Some((mut block, fence_indent)) => {
                block
                    .text
                    .push_str(line.get(fence_indent..).unwrap_or(trimmed));
                block.text.push('\n');
                open = Some((block, fence_indent));
            }
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

fn read_doc(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn command_lines(block: &Block) -> Vec<String> {
    block
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(" #").next().unwrap_or(l).trim().to_owned())
        .collect()
}

/// The program name of a command line (`~/keyexport-offline` → `keyexport-offline`).
fn program(line: &str) -> &str {
    let first = line.split_whitespace().next().unwrap_or("");
    first.rsplit('/').next().unwrap_or(first)
}

fn is_tool(name: &str) -> bool {
    matches!(
        name,
        "keyexport-offline" | "keyexport-online" | "dfns-sandbox"
    )
}

struct Tools {
    offline: PathBuf,
    online: PathBuf,
    sandbox: PathBuf,
}

impl Tools {
    fn get() -> Tools {
        let built = sandbox::binaries::ensure_built(
            &["keyexport-offline", "keyexport-online"],
            sandbox::binaries::Build::IfOutdated,
        )
        .expect("the ceremony binaries build");
        Tools {
            offline: built[0].clone(),
            online: built[1].clone(),
            sandbox: PathBuf::from(env!("CARGO_BIN_EXE_dfns-sandbox")),
        }
    }

    fn path(&self, name: &str) -> &Path {
        match name {
            "keyexport-offline" => &self.offline,
            "keyexport-online" => &self.online,
            "dfns-sandbox" => &self.sandbox,
            other => panic!("not a keyexport program: {other}"),
        }
    }
}

/// Checks a documented command line against `--help`: the subcommand exists and every
/// `--flag` is listed.
fn check_against_help(tools: &Tools, line: &str, origin: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let name = program(line);
    let sub = words.get(1).copied().unwrap_or("");
    // A nested subcommand (`custody verify`, `transcript verify`) has its own flags.
    let nested = words
        .get(2)
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-'))
        .filter(|w| {
            Command::new(tools.path(name))
                .args([sub, w, "--help"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let mut args = vec![sub];
    args.extend(nested);
    args.push("--help");
    let output = Command::new(tools.path(name))
        .args(&args)
        .output()
        .expect("the program runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{origin}: `{name} {sub}` is not a command: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The words after the program and its (nested) subcommand: as many as `args` minus
    // `--help`, plus the program itself.
    for word in &words[args.len()..] {
        if let Some(flag) = word.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap_or(flag);
            assert!(
                help.contains(&format!("--{flag}")),
                "{origin}: `{name} {sub}` has no flag --{flag}\n{help}"
            );
        }
    }
}

fn no_run_tool_lines(markdown: &str, file: &str) -> Vec<(String, String)> {
    code_blocks(markdown)
        .iter()
        .filter(|b| b.info == "sh no-run")
        .flat_map(|b| {
            command_lines(b)
                .into_iter()
                .filter(|l| is_tool(program(l)))
                .map(move |l| (l, format!("{file}:{}", b.line)))
        })
        .collect()
}

#[test]
fn documented_commands_exist_with_their_flags() {
    let tools = Tools::get();
    let mut checked = 0;
    for file in ["README.md", "docs/runbook.md"] {
        for (line, origin) in no_run_tool_lines(&read_doc(file), file) {
            check_against_help(&tools, &line, &origin);
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "only {checked} documented command lines found"
    );
}

fn run_logged(command: &mut Command, shown: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        output.status.success(),
        "README command failed ({}): {shown}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Whether CI runs the README's `cargo` command `line`: verbatim in `.ci/run`, or, for the
/// release build, as the start of the `cargo build` of `scripts/build-release.sh`, which
/// `.ci/run` runs through `.ci/release-checks.sh`.
fn ci_runs(ci: &str, line: &str) -> bool {
    if ci.lines().any(|l| l.trim() == line) {
        return true;
    }
    let checks = read_doc(".ci/release-checks.sh");
    let build = read_doc("scripts/build-release.sh");
    // CI starts the release checks in the background (`setsid nice -n 10 bash
    // .ci/release-checks.sh > LOG 2>&1 &`) and waits for them at the end.
    ci.lines().any(|l| {
        let l = l.trim();
        !l.starts_with('#') && l.contains("bash .ci/release-checks.sh")
    }) && checks.contains("scripts/build-release.sh")
        && build.lines().any(|l| {
            l.trim()
                .strip_prefix(line)
                .is_some_and(|rest| rest.starts_with(' '))
        })
}

#[test]
fn readme_commands_run_against_the_sandbox() {
    let readme = read_doc("README.md");
    let ci = read_doc(".ci/run");
    let tools = Tools::get();
    let scheme: Scheme = "CGGMP24:secp256k1".parse().expect("a valid scheme");
    let sandbox = Sandbox::start(SandboxConfig {
        keys: vec![KeySpec::new(scheme)],
        credential: CredentialKind::Ed25519,
        faults: Vec::new(),
        port: 0,
    })
    .expect("the sandbox starts");
    let key = sandbox
        .keys()
        .into_iter()
        .next()
        .expect("the sandbox has a key");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let passphrase = dir.path().join("passphrase.txt");
    std::fs::write(&passphrase, "correct horse battery staple\n").expect("write");
    let substitutions: BTreeMap<&str, &str> = BTreeMap::from([
        ("KEY_ID", key.id.as_str()),
        ("AGE_RECIPIENT", AGE_RECIPIENT),
    ]);

    let mut ran = Vec::new();
    for block in code_blocks(&readme).iter().filter(|b| b.info == "sh") {
        for line in command_lines(block) {
            assert!(
                !line.contains(['$', '"', '\'', '|', '>', '<', '&', ';', '`']),
                "README.md:{}: a run block holds plain commands only: {line}",
                block.line
            );
            let mut words: Vec<String> = line
                .split_whitespace()
                .map(|w| substitutions.get(w).map_or(w, |s| s).to_owned())
                .collect();
            let name = program(&line).to_owned();
            if name == "cargo" {
                if let Some(args) = line.strip_prefix("cargo run --release -p sandbox -- ") {
                    let mut command = Command::new(&tools.sandbox);
                    command
                        .args(args.split_whitespace())
                        .current_dir(dir.path());
                    if args.starts_with("rehearse") {
                        // `Tools::get` has built the ceremony binaries for this test run; a
                        // nested cargo build with other feature unification would rebuild
                        // much of the tree.
                        command.arg("--no-build");
                    }
                    run_logged(&mut command, &line);
                } else {
                    assert!(
                        ci_runs(&ci, &line),
                        "README.md:{}: `{line}` is neither run here nor by .ci/run",
                        block.line
                    );
                }
                ran.push(line);
                continue;
            }
            assert!(
                is_tool(&name),
                "README.md:{}: unknown program in {line}",
                block.line
            );
            let sub = words.get(1).cloned().unwrap_or_default();
            match (name.as_str(), sub.as_str()) {
                ("keyexport-offline", "init" | "reconstruct")
                    if !words.iter().any(|w| w == "--passphrase-file") =>
                {
                    words.push("--passphrase-file".into());
                    words.push(passphrase.display().to_string());
                }
                ("keyexport-online", "submit") if !words.iter().any(|w| w == "--yes") => {
                    words.push("--yes".into());
                }
                _ => {}
            }
            let mut command = Command::new(tools.path(&name));
            command
                .args(&words[1..])
                .current_dir(dir.path())
                .env("KEYEXPORT_ALLOW_ONLINE", "1")
                .env("KEYEXPORT_TEST_SCRYPT_LOG_N", "10")
                .env_remove("DFNS_PRIVATE_KEY")
                .env_remove("DFNS_PRIVATE_KEY_FILE");
            for (name, value) in sandbox.env() {
                command.env(name, value);
            }
            let output = run_logged(&mut command, &line);
            if sub == "reconstruct" {
                let stderr = String::from_utf8_lossy(&output.stderr);
                // Printed in groups of 8 hex digits over lines of 80 columns.
                let digits: String = stderr
                    .lines()
                    .skip_while(|l| !l.starts_with("Public key"))
                    .take(2)
                    .flat_map(|l| l.trim_start_matches("Public key").split_whitespace())
                    .collect();
                assert!(
                    digits.starts_with(&key.public_key),
                    "reconstruct did not show the key's public key {}:\n{stderr}",
                    key.public_key
                );
            }
            ran.push(line);
        }
    }
    for expected in [
        "cargo run --release -p sandbox -- rehearse",
        "cargo test --workspace --locked",
    ] {
        assert!(
            ran.iter().any(|l| l == expected),
            "README lost `{expected}`"
        );
    }
    assert!(
        sandbox.keys().iter().all(|k| k.exported),
        "the README exported the key"
    );
    let delivered = std::fs::read(dir.path().join("key.hex.age")).expect("key.hex.age written");
    assert!(
        delivered.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
        "key.hex.age is not an armored age file"
    );
}

/// The text of the `example:<name>` block of `docs/formats.md`.
fn example(blocks: &[Block], name: &str) -> String {
    let tag = format!("example:{name}");
    let found: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.info.split_whitespace().any(|w| w == tag))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "docs/formats.md needs exactly one `{tag}` block"
    );
    found[0].text.clone()
}

#[test]
fn formats_worked_example_is_current() {
    let blocks = code_blocks(&read_doc("docs/formats.md"));
    let request_text = example(&blocks, "request");
    let response_text = example(&blocks, "response");
    let decryption_key = example(&blocks, "decryption-key");
    let private_key = example(&blocks, "private-key");
    let ur_frames = example(&blocks, "response-ur");

    let Artifact::Request(request) =
        Artifact::parse(request_text.as_bytes()).expect("the example request parses")
    else {
        panic!("the example request is not a request file");
    };
    let Artifact::Response(response) =
        Artifact::parse(response_text.as_bytes()).expect("the example response parses")
    else {
        panic!("the example response is not a response file");
    };
    assert_eq!(response.ceremony_id, request.ceremony_id);
    assert_eq!(response.key_id, request.key_id);
    assert_eq!(response.request_sha256, sha256_hex(request_text.as_bytes()));

    let key = DecryptionKey::from_dfns_hex(&decryption_key).expect("the example key parses");
    assert_eq!(key.encryption_key(), request.dfns_request.encryption_key);
    let export = response.export_response().expect("the Dfns body is valid");
    let rebuilt = keyexport_shared::reconstruct::reconstruct(&export, &key)
        .expect("the example reconstructs");
    assert_eq!(rebuilt.private_key.to_hex().as_str(), private_key.trim());
    assert!(rebuilt.bad_shares.is_empty());

    let frames = encode_frames(response_text.as_bytes(), &FrameOptions::default())
        .expect("the response encodes");
    let expected: Vec<&str> = frames.iter().map(|f| f.as_str()).collect();
    let documented: Vec<&str> = ur_frames.lines().collect();
    assert_eq!(documented, expected, "the example's UR frames changed");

    // And the binary agrees, from the files as documented.
    let tools = Tools::get();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let key_file = dir.path().join("decryption-key.hex");
    std::fs::write(&key_file, &decryption_key).expect("write");
    std::fs::write(dir.path().join("response.json"), &response_text).expect("write");
    std::fs::write(dir.path().join("response.ur.txt"), &ur_frames).expect("write");
    for input in ["response.json", "response.ur.txt"] {
        let output = run_logged(
            Command::new(&tools.offline)
                .current_dir(dir.path())
                .env("KEYEXPORT_ALLOW_ONLINE", "1")
                .args(["reconstruct", "--decryption-key", "decryption-key.hex"])
                .args(["--response", input, "--reveal", "--json"]),
            "keyexport-offline reconstruct (worked example)",
        );
        let result: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("one JSON object");
        assert_eq!(
            result["privateKey"].as_str(),
            Some(private_key.trim()),
            "{input}"
        );
    }
}

/// Each subcommand's `--help` names its runbook step and gives an example.
#[test]
fn every_help_names_its_runbook_step() {
    let tools = Tools::get();
    let runbook = read_doc("docs/runbook.md");
    let cases = [
        ("keyexport-offline", "init", "Step 1"),
        ("keyexport-offline", "inspect", "Step 2"),
        ("keyexport-offline", "reconstruct", "Step 5"),
        ("keyexport-offline", "custody", "Step 1"),
        ("keyexport-offline", "transcript", "Step 7"),
        ("keyexport-offline", "sign", "Step 6a"),
        ("keyexport-online", "submit", "Step 3"),
        ("keyexport-online", "show", "Step 4"),
        ("dfns-sandbox", "rehearse", "P4"),
    ];
    for (name, sub, step) in cases {
        assert!(
            runbook.contains(&format!("### {step} — ")),
            "the runbook has no heading `{step} — …`"
        );
        let output = Command::new(tools.path(name))
            .args([sub, "--help"])
            .output()
            .expect("the program runs");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("Example"),
            "`{name} {sub} --help` has no example"
        );
        assert!(
            help.contains("docs/runbook.md") && help.contains(step),
            "`{name} {sub} --help` does not cite docs/runbook.md, {step}"
        );
    }
}

#[test]
fn code_blocks_are_found_with_their_info_strings() {
    let blocks = code_blocks("a\n```sh\nx --y\n```\n  ```sh no-run\n  z\n  ```\n");
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        (blocks[0].info.as_str(), blocks[0].text.as_str()),
        ("sh", "x --y\n")
    );
    assert_eq!(
        (blocks[1].info.as_str(), blocks[1].text.as_str()),
        ("sh no-run", "z\n")
    );
    assert_eq!(program("~/keyexport-offline init"), "keyexport-offline");
}
