//! Attacks by whoever writes the stick or the ceremony folder: each input below was made
//! to rewrite the screen, to exhaust time or memory, or to reach a decoder the job does
//! not need. Each must now fail at once with a clear error, a non-zero exit, nothing
//! written and nothing misleading on screen.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use keyexport_shared::transcript;
use serde_json::{Value, json};

use crate::common::{Ceremony, SealedCeremony, offline, passphrase_file, s, stdout_json};

/// Bytes a terminal would act on: every control character but the newline that ends
/// our own lines, and the bidirectional overrides.
fn has_terminal_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// `reconstruct --json --out` of `responses` with the plain key `key`; the run must fail
/// with `code`, show no control character, write nothing, and print the `--json` error
/// object and error/advice lines of snapshot `name` (the folder shown as `[DIR]`).
fn reconstruct_refused(dir: &Path, key: &Path, response: &str, code: i32, name: &str) -> Value {
    let out = dir.join("key-out.hex");
    let output = offline()
        .args(["reconstruct", "--json", "--decryption-key", s(key)])
        .args(["--response", response, "--out", s(&out)])
        .output()
        .unwrap();
    let json = stdout_json(&output);
    assert_eq!(output.status.code(), Some(code), "{json}");
    let text = stderr(&output);
    assert!(!has_terminal_controls(&text), "{text:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!has_terminal_controls(&stdout));
    let from_error = &text[text.find("error: ").unwrap()..];
    let folder = dir.to_string_lossy();
    insta::assert_snapshot!(
        name,
        format!("{stdout}\n{from_error}").replace(folder.as_ref(), "[DIR]")
    );
    assert!(!out.exists(), "a refused run wrote the key");
    json
}

/// The ceremony most of these tests spoil one input of.
fn vector_setup() -> Ceremony {
    Ceremony::from_vector("cggmp24-secp256k1-2of3")
}

#[test]
fn a_signer_id_with_terminal_codes_is_refused() {
    let c = vector_setup();
    let mut response = c.vector["response"].clone();
    // Cursor up, erase the line, and print a "Public key" of the attacker's choosing.
    response["encryptedKeyShares"][0]["signerId"] =
        json!("\u{1b}[1A\u{1b}[2KPublic key   02aaaa\u{9b}2K\u{202e}");
    let path = c.dir().join("hostile-response.json");
    std::fs::write(&path, serde_json::to_vec(&response).unwrap()).unwrap();
    let json = reconstruct_refused(c.dir(), &c.key, s(&path), 3, "signer_id_with_codes");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("standard padded base64"), "{message}");
    // `inspect` refuses it the same way rather than listing the signer.
    let output = offline().args(["inspect", s(&path)]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert!(text.contains("signerId"), "{text}");
    assert!(!has_terminal_controls(&text), "{text:?}");
    assert!(output.stdout.is_empty());
}

#[test]
fn duplicate_keys_are_refused_not_resolved() {
    let c = vector_setup();
    let body = serde_json::to_string(&c.vector["response"]).unwrap();
    // A second `publicKey` after the real one: serde_json alone would keep the second.
    let doubled = format!(
        "{},\"publicKey\":\"{}\"}}",
        body.trim_end_matches('}'),
        c.vector["response"]["publicKey"].as_str().unwrap()
    );
    let path = c.dir().join("doubled.json");
    std::fs::write(&path, doubled).unwrap();
    let output = offline()
        .args(["inspect", "--json", s(&path)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("`publicKey` appears twice"), "{message}");
    reconstruct_refused(c.dir(), &c.key, s(&path), 3, "duplicate_public_key");
}

#[test]
fn junk_shares_are_refused_before_the_key_is_unsealed() {
    let tmp = tempfile::tempdir().unwrap();
    let SealedCeremony {
        dir: ceremony,
        response: response_path,
        ..
    } = SealedCeremony::new(tmp.path(), "key-01hostile");
    let mut response: Value =
        serde_json::from_slice(&std::fs::read(&response_path).unwrap()).unwrap();
    let share = response["encryptedKeyShares"][0].clone();
    response["encryptedKeyShares"] = Value::Array(vec![share; 300]);
    std::fs::write(&response_path, serde_json::to_vec(&response).unwrap()).unwrap();
    // A wrong passphrase: were the key unsealed first, the error would be about it.
    let wrong = passphrase_file(tmp.path(), "wrong.txt", "not the passphrase");
    let out = tmp.path().join("key.hex");
    let output = offline()
        .args(["reconstruct", "--json", "--response", s(&response_path)])
        .args(["--decryption-key", s(&ceremony.join("decryption-key.age"))])
        .args(["--passphrase-file", s(&wrong), "--out", s(&out)])
        .output()
        .unwrap();
    let json = stdout_json(&output);
    assert_eq!(output.status.code(), Some(3), "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("300 shares, more than the 256"),
        "{message}"
    );
    assert!(!out.exists());
}

#[test]
fn huge_files_devices_and_endless_input_fail_fast() {
    let c = vector_setup();
    // A 3 MiB "response".
    let huge = c.dir().join("huge.json");
    std::fs::write(&huge, {
        let mut bytes = vec![b' '; 3 * 1024 * 1024];
        bytes[0] = b'{';
        bytes
    })
    .unwrap();
    reconstruct_refused(c.dir(), &c.key, s(&huge), 3, "response_over_2_mib");
    // A 200 MB file is refused from its size alone.
    let sparse = c.dir().join("sparse.json");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    reconstruct_refused(c.dir(), &c.key, s(&sparse), 3, "input_over_64_mib");
    // Devices and FIFOs are not read at all.
    reconstruct_refused(c.dir(), &c.key, "/dev/zero", 3, "device");
    let fifo = c.dir().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    reconstruct_refused(c.dir(), &c.key, s(&fifo), 3, "fifo");
    // Endless standard input (no newline ever) stops at the limit.
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("keyexport-offline"))
        .args(["inspect", "--json", "-"])
        .env("KEYEXPORT_ALLOW_ONLINE", "1")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("larger than the 16 MiB that standard input"),
        "{message}"
    );
    // `show` reads its file within the same limits.
    crate::common::offline()
        .args(["show", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(3)
        .stderr(predicates::str::contains("not a regular file"));
    crate::common::offline()
        .args(["show", s(&huge)])
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "larger than the 2 MiB that a request",
        ));
}

#[test]
fn other_image_formats_are_refused_by_name() {
    let c = vector_setup();
    let folder = c.dir().join("photos");
    std::fs::create_dir(&folder).unwrap();
    // A TIFF header in a file named like a PNG.
    std::fs::write(folder.join("frame-01.png"), b"II*\0\x08\0\0\0\0\0\0\0").unwrap();
    reconstruct_refused(c.dir(), &c.key, s(&folder), 3, "tiff_image");
    let gif = c.dir().join("response-qr.gif");
    std::fs::write(&gif, b"GIF89a\x01\0\x01\0\0\0\0;").unwrap();
    reconstruct_refused(c.dir(), &c.key, s(&gif), 3, "gif_image");
}

/// A transcript whose second line was edited, followed by a line whose `time` holds
/// terminal codes that would erase the report and print "Intact".
fn hostile_transcript(dir: &Path) -> PathBuf {
    let path = dir.join(transcript::FILE_NAME);
    for step in ["init", "reconstruct"] {
        let mut entry = serde_json::Map::new();
        entry.insert("command".into(), json!(step));
        entry.insert("time".into(), json!("2026-12-05T10:00:00Z"));
        entry.insert("outcome".into(), json!({"status": "ok"}));
        transcript::append(&path, entry).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"status\":\"ok\"}", "\"status\":\"failed\"}"),
    )
    .unwrap();
    let mut forged = serde_json::Map::new();
    forged.insert("command".into(), json!("sign"));
    forged.insert(
        "time".into(),
        json!("\u{1b}[2J\u{1b}[H\rIntact       the chain is whole, no recorded file changed\n"),
    );
    forged.insert(
        "artifacts".into(),
        json!([{"role": "input", "path": "/dev/zero", "sha256": "00"}]),
    );
    transcript::append(&path, forged).unwrap();
    path
}

#[test]
fn a_hostile_transcript_is_shown_escaped_and_never_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let path = hostile_transcript(tmp.path());
    let output = offline()
        .args(["transcript", "verify", s(&path)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert!(!has_terminal_controls(&text), "{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("Intact")),
        "a failing verify shows Intact:\n{text}"
    );
    assert!(text.contains("\\u{1b}[2J"), "{text}");
    assert!(
        text.contains("/dev/zero recorded at line 3 cannot be checked"),
        "{text}"
    );
    assert!(text.contains("not a regular file"), "{text}");
    let json_run = offline()
        .args(["transcript", "verify", "--json", s(&path)])
        .output()
        .unwrap();
    let stdout = String::from_utf8(json_run.stdout.clone()).unwrap();
    assert!(!has_terminal_controls(&stdout), "{stdout:?}");
    // The report, then the error object.
    let json: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(json["intact"], false);
    assert_eq!(
        json["steps"][2]["time"],
        "\u{1b}[2J\u{1b}[H\rIntact       the chain is whole, no recorded file changed\n"
    );
}

/// Standard error of `args` run inside `dir` (short, fixed file names), with its exit code.
fn stderr_in(dir: &Path, args: &[&str]) -> String {
    let output = offline().current_dir(dir).args(args).output().unwrap();
    format!("exit code: {:?}\n{}", output.status.code(), stderr(&output))
}

#[test]
fn refusals_as_the_operator_sees_them() {
    let c = vector_setup();
    let mut response = c.vector["response"].clone();
    response["encryptedKeyShares"][1]["signerId"] = json!("\u{1b}[1A\u{1b}[2Kc2lnbmVy");
    std::fs::write(
        c.dir().join("hostile.json"),
        serde_json::to_vec(&response).unwrap(),
    )
    .unwrap();
    std::fs::create_dir(c.dir().join("photos")).unwrap();
    std::fs::write(c.dir().join("photos/frame-01.png"), b"II*\0\x08\0\0\0").unwrap();
    hostile_transcript(c.dir());
    let text = [
        stderr_in(c.dir(), &["inspect", "hostile.json"]),
        stderr_in(c.dir(), &["inspect", "photos"]),
        stderr_in(c.dir(), &["transcript", "verify", "transcript.jsonl"]),
    ]
    .join("\n---\n");
    insta::assert_snapshot!(text);
}
