//! `init`: the ceremony directory, the request, the sealed key and the transcript.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{PASSPHRASE, age_open, file_names, offline, passphrase_file, s};

fn init(dir: &Path, extra: &[&str]) -> (std::path::PathBuf, std::process::Output) {
    let pass = passphrase_file(dir, "pass.txt", PASSPHRASE);
    let ceremony = dir.join("ceremony");
    let output = offline()
        .args(["init", "--key-id", "key-01j8example", "--out", s(&ceremony)])
        .args(["--passphrase-file", s(&pass)])
        .args(extra)
        .output()
        .unwrap();
    (ceremony, output)
}

/// [`init`] that must succeed, and the request it wrote.
fn init_ok(dir: &Path, extra: &[&str]) -> (std::path::PathBuf, std::process::Output, Value) {
    let (ceremony, output) = init(dir, extra);
    crate::common::assert_success(&output);
    let request =
        serde_json::from_slice(&std::fs::read(ceremony.join("request.json")).unwrap()).unwrap();
    (ceremony, output, request)
}

fn unseal(ceremony: &Path) -> Value {
    serde_json::from_slice(&age_open(&ceremony.join("decryption-key.age"), PASSPHRASE)).unwrap()
}

/// The pairs Dfns issues keys for (spec §1), in the order `init` lists them.
const ISSUED: [&str; 9] = [
    "CGGMP24:secp256k1",
    "CGGMP24:stark",
    "CGGMP21:secp256k1",
    "CGGMP21:stark",
    "KU23:secp256k1",
    "KU23:stark",
    "FROST:ed25519",
    "FROST_BITCOIN:secp256k1",
    "GLOW20_DH:secp256k1",
];

fn schemes_of(request: &Value) -> Vec<String> {
    fn find(v: &Value) -> Option<&Vec<Value>> {
        match v {
            Value::Object(map) => map.iter().find_map(|(k, v)| match (k.as_str(), v) {
                ("supportedSchemes", Value::Array(a)) => Some(a),
                _ => find(v),
            }),
            _ => None,
        }
    }
    find(request)
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["protocol"].as_str().unwrap(),
                s["curve"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn writes_the_ceremony_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (ceremony, output, request) = init_ok(tmp.path(), &[]);
    assert_eq!(
        file_names(&ceremony),
        [
            "decryption-key.age",
            "request.json",
            "request.png",
            "transcript.jsonl"
        ]
    );
    let mode = std::fs::metadata(ceremony.join("decryption-key.age"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let stderr = String::from_utf8_lossy(&output.stderr);
    let sealed = unseal(&ceremony);
    let ceremony_id = sealed["ceremonyId"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("Ceremony     {ceremony_id}")),
        "{stderr}"
    );
    assert!(stderr.contains("Key id       key-01j8example"));
    assert!(stderr.contains("Fingerprint  "));
    assert!(stderr.contains("  aloud"));
    assert!(
        stderr
            .lines()
            .all(|l| !l.starts_with("  aloud") || l.len() <= 80)
    );
    assert_eq!(sealed["keyId"], "key-01j8example");
    assert!(request.to_string().contains(ceremony_id));
    assert!(request.to_string().contains("key-01j8example"));

    // Default schemes: the 9 pairs Dfns issues, named as such on one line (the witness's
    // values must stay on an 80x24 screen; `inspect` lists the pairs).
    assert_eq!(schemes_of(&request), ISSUED);
    assert!(
        stderr.contains("Schemes      the 9 pairs Dfns issues (the default; inspect lists them)\n"),
        "{stderr}"
    );

    // The secret appears nowhere but in the sealed file.
    let secret = sealed["decryptionKey"].as_str().unwrap();
    assert_eq!(secret.len(), 66);
    for name in ["request.json", "transcript.jsonl"] {
        let text = std::fs::read_to_string(ceremony.join(name)).unwrap();
        assert!(!text.contains(&secret[2..]), "{name} holds the secret");
    }
    assert!(!stderr.contains(&secret[2..]));
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&secret[2..]));
}

#[test]
fn transcript_records_digests_of_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (ceremony, output) = init(tmp.path(), &[]);
    assert!(output.status.success());
    let transcript = std::fs::read_to_string(ceremony.join("transcript.jsonl")).unwrap();
    let lines: Vec<Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["command"], "init");
    assert_eq!(line["outcome"]["status"], "ok");
    assert!(
        line["toolVersion"]
            .as_str()
            .unwrap()
            .starts_with("keyexport-offline ")
    );
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    let outputs = line["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3);
    for record in outputs {
        // Files in the ceremony folder are named relative to it.
        let path = record["path"].as_str().unwrap();
        assert!(!path.starts_with('/'), "{path}");
        let bytes = std::fs::read(ceremony.join(path)).unwrap();
        assert_eq!(record["sha256"], hex::encode(Sha256::digest(&bytes)));
    }
    let pass = &line["inputs"][0];
    assert_eq!(pass["role"], "passphrase-file");
    assert!(pass.get("sha256").is_none());
}

#[test]
fn schemes_can_be_chosen() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, request) = init_ok(
        tmp.path(),
        &[
            "--scheme",
            "CGGMP24:secp256k1",
            "--scheme",
            "FROST:ed25519",
            "--scheme",
            "CGGMP24:secp256k1",
            "--scheme",
            "CGGMP24:ed25519",
        ],
    );
    // Asked for explicitly, a pair Dfns does not issue is offered too.
    assert_eq!(
        schemes_of(&request),
        ["CGGMP24:secp256k1", "FROST:ed25519", "CGGMP24:ed25519"]
    );
}

#[test]
fn a_batch_request_offers_the_issued_pairs_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, request) = init_ok(tmp.path(), &["--key-id", "key-02j8example"]);
    assert_eq!(request["kind"], "keyexport-batch-request");
    assert_eq!(schemes_of(&request), ISSUED);
}

#[test]
fn empty_existing_directory_is_used_non_empty_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = tmp.path().join("ceremony");
    std::fs::create_dir(&ceremony).unwrap();
    let (_, output) = init(tmp.path(), &[]);
    assert!(output.status.success());
    let before = file_names(&ceremony);
    let (_, output) = init(tmp.path(), &[]);
    assert_eq!(output.status.code(), Some(6));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("is not empty; init writes only into a new or empty directory")
    );
    assert_eq!(file_names(&ceremony), before);
}

/// The terminal path: the passphrase is typed twice in a pseudo-terminal; a short one is
/// refused unless the rehearsal override is given, loudly and on the record.
#[test]
fn passphrase_typed_twice_on_a_terminal() {
    use crate::screen::{self, Step};
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("keyexport-offline");
    let env = crate::common::TEST_ENV;
    let run = |dir: &str, first: &str, second: &str, extra: &[&str]| {
        let mut args = vec!["init", "--key-id", "k", "--out", dir];
        args.extend_from_slice(extra);
        screen::run(
            &bin,
            &args,
            &env,
            tmp.path(),
            (80, 24),
            &[
                Step {
                    wait_for: "Enter the passphrase of the sealed decryption key:",
                    send: first,
                },
                Step {
                    wait_for: "Repeat the passphrase of the sealed decryption key:",
                    send: second,
                },
            ],
        )
    };
    let typed = "five words make a floor\n";
    let shown = run("same", typed, typed, &[]);
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    assert!(tmp.path().join("same/decryption-key.age").exists());
    // No QR code in the terminal: request.png is carried, `show` plays the codes.
    assert!(!shown.raw_text().contains("QR 1 of "));

    let shown = run("differ", typed, "five words make a flood\n", &[]);
    assert_eq!(shown.code, 5);
    assert!(
        shown
            .raw_text()
            .contains("the two passphrases typed differ")
    );
    assert!(!tmp.path().join("differ").exists());

    let shown = run("short", "a\n", "a\n", &[]);
    assert_eq!(shown.code, 5, "{}", shown.raw_text());
    assert!(
        shown.raw_text().contains("too short"),
        "{}",
        shown.raw_text()
    );
    assert!(!tmp.path().join("short").exists());

    let shown = run("rehearsal", "a\n", "a\n", &["--allow-short-passphrase"]);
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    assert!(shown.raw_text().contains("REHEARSAL ONLY"));
    let transcript =
        std::fs::read_to_string(tmp.path().join("rehearsal/transcript.jsonl")).unwrap();
    assert!(
        transcript.contains(r#""shortPassphraseAllowed":true"#),
        "{transcript}"
    );
}

#[test]
fn a_passphrase_file_below_the_floor_is_refused_before_anything_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    for (content, ok) in [("tr0ub4dor&3", false), ("one two three four five", true)] {
        let pass = passphrase_file(tmp.path(), "pass.txt", content);
        let ceremony = tmp.path().join(format!("c-{ok}"));
        let output = offline()
            .args(["init", "--key-id", "k", "--out", s(&ceremony)])
            .args(["--passphrase-file", s(&pass)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if ok {
            assert!(output.status.success(), "{stderr}");
        } else {
            assert_eq!(output.status.code(), Some(5), "{stderr}");
            assert!(
                stderr.contains("at least 20 characters or 5 words"),
                "{stderr}"
            );
            assert!(stderr.contains("guess"), "{stderr}");
            assert!(!stderr.contains(content));
            assert!(!ceremony.exists());
        }
    }
}

#[test]
fn request_png_is_a_real_qr_code_of_the_request() {
    let tmp = tempfile::tempdir().unwrap();
    let (ceremony, output) = init(tmp.path(), &[]);
    assert!(output.status.success());
    // inspect reads the PNG back through the QR decoder and finds the same request.
    let inspect = offline()
        .args([
            "inspect",
            "--json",
            s(&ceremony.join("request.png")),
            s(&ceremony.join("request.json")),
        ])
        .output()
        .unwrap();
    crate::common::assert_success(&inspect);
    let json: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let items = json["artifacts"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{json}");
    assert_eq!(items[0]["kind"], "request");
    assert_eq!(items[0]["sha256"], items[1]["sha256"]);
}

#[test]
fn stdout_stays_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, output) = init(tmp.path(), &[]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
}
