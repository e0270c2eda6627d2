//! The operator's screen: `init`, `show`, `sign --qr` and the passphrase prompts run in a
//! pseudo-terminal of 80x24 (the default console) or 160x50, and what the screen shows is
//! checked as a person (or a camera) would see it.

use std::path::{Path, PathBuf};

use keyexport_shared::files::sha256_hex;
use keyexport_shared::transport::{FrameCollector, group_hex};
use serde_json::Value;

use crate::common::{PASSPHRASE, SealedCeremony, offline, passphrase_file, s};
use crate::screen::{self, Run, Step};

const SMALL: (u16, u16) = (80, 24);
const LARGE: (u16, u16) = (160, 50);

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keyexport-offline")
}

/// Lines without the warning of the tests' scrypt setting (never printed in a ceremony).
fn test_free(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| !l.starts_with("warning: KEYEXPORT_TEST_SCRYPT_LOG_N="))
        .collect()
}

fn run(dir: &Path, args: &[&str], size: (u16, u16), steps: &[Step<'_>]) -> Run {
    screen::run(&bin(), args, &crate::common::TEST_ENV, dir, size, steps)
}

/// The last transcript line as JSON, and the head (its SHA-256).
fn last_line(transcript: &Path) -> (Value, String) {
    let text = std::fs::read_to_string(transcript).unwrap();
    let line = text.lines().last().unwrap();
    (
        serde_json::from_str(line).unwrap(),
        sha256_hex(line.as_bytes()),
    )
}

/// A ceremony made with a passphrase file (no terminal), with its response.
fn ceremony(root: &Path) -> (PathBuf, PathBuf) {
    let made = SealedCeremony::new(root, "key-01screen");
    (made.dir, made.response)
}

#[test]
fn init_keeps_what_the_witness_compares_on_an_80x24_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let typed = format!("{PASSPHRASE}\n");
    let shown = run(
        tmp.path(),
        &[
            "init",
            "--key-id",
            "key-01screen",
            "--out",
            "ceremony",
            "--scheme",
            "CGGMP24:secp256k1",
        ],
        SMALL,
        &[
            Step {
                wait_for: "Enter the passphrase",
                send: &typed,
            },
            Step {
                wait_for: "Repeat the passphrase",
                send: &typed,
            },
        ],
    );
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    let (line, head) = last_line(&tmp.path().join("ceremony/transcript.jsonl"));
    let screen = shown.screen_text();
    for value in [
        line["ceremonyId"].as_str().unwrap(),
        line["encryptionKeyFingerprint"].as_str().unwrap(),
        &group_hex(&head),
    ] {
        assert!(
            screen.contains(value),
            "{value} is not on the screen:\n{screen}"
        );
    }
    // No QR code is drawn (request.png is what is carried), nothing wraps, and `show` is
    // offered.
    assert!(!shown.raw_text().contains('█'), "{}", shown.raw_text());
    let wide = test_free(screen::lines_wider_than(&shown.raw, 80));
    assert!(wide.is_empty(), "{wide:#?}");
    assert!(screen.contains("keyexport-offline show ceremony/request.json"));
    assert!(!shown.raw_text().contains(PASSPHRASE));
}

/// Plays `file` with `show` at `size` and returns the payload read back from the screens.
fn played(dir: &Path, file: &str, size: (u16, u16)) -> (Run, Vec<u8>) {
    let shown = run(
        dir,
        &["show", file, "--loops", "1", "--fps", "30"],
        size,
        &[],
    );
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    let mut collector = FrameCollector::new();
    let screens = screen::frames_shown(&shown);
    assert!(!screens.is_empty());
    for (i, frame) in screens.iter().enumerate() {
        let texts = screen::decode_screen(frame);
        assert_eq!(
            texts.len(),
            1,
            "frame {i} does not scan:\n{}",
            frame.contents()
        );
        collector.push(&texts[0]).unwrap();
    }
    (shown, collector.finish().unwrap())
}

#[test]
fn show_plays_the_request_in_codes_that_scan_at_80x24_and_160x50() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = ceremony(tmp.path());
    let request = std::fs::read(dir.join("request.json")).unwrap();
    let (small, payload) = played(&dir, "request.json", SMALL);
    assert_eq!(payload, request);
    let (large, payload) = played(&dir, "request.json", LARGE);
    assert_eq!(payload, request);
    // The large terminal holds larger codes: fewer frames.
    assert!(screen::frames_shown(&large).len() < screen::frames_shown(&small).len());
    // Every screen shows the digest the online machine compares: its first and last 8
    // digits at 80 columns, all of it at 160.
    let digest = sha256_hex(&request);
    assert!(
        small
            .screen_text()
            .contains(&format!("{}…{}", &digest[..8], &digest[56..]))
    );
    assert!(large.screen_text().contains(&group_hex(&digest)));
}

#[test]
fn show_refuses_a_terminal_too_small_for_a_code_that_scans() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, response) = ceremony(tmp.path());
    let shown = run(&dir, &["show", "request.json"], (40, 12), &[]);
    assert_eq!(shown.code, 2, "{}", shown.raw_text());
    let text = shown.raw_text();
    assert!(text.contains("Make the terminal at least"), "{text}");
    assert!(text.contains("request.png"), "{text}");
    assert!(!text.contains('█'));
    // A response is not what the offline machine shows.
    offline()
        .args(["show", s(&response)])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("not a request file"));
    offline()
        .args(["show", "request.json", "--fps", "0"])
        .current_dir(&dir)
        .assert()
        .code(2);
}

#[test]
fn sign_qr_draws_a_code_that_scans_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, response) = ceremony(tmp.path());
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    let digest = "9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658";
    for (size, recoverable) in [(SMALL, true), (SMALL, false), (LARGE, true)] {
        let mut args = vec![
            "sign",
            "--blind",
            "--yes",
            "--decryption-key",
            "decryption-key.age",
            "--response",
            s(&response),
            "--passphrase-file",
            s(&pass),
            "--scheme",
            "ecdsa-secp256k1",
            "--message-hex",
            digest,
            "--qr",
        ];
        if recoverable {
            args.push("--recoverable");
        }
        let shown = run(&dir, &args, size, &[]);
        assert_eq!(shown.code, 0, "{}", shown.raw_text());
        // Signatures are deterministic: the same run without --qr prints the same one.
        let plain = offline()
            .args(&args[..args.len() - usize::from(recoverable) - 1])
            .args(recoverable.then_some("--recoverable"))
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(plain.status.success());
        let signature = String::from_utf8(plain.stdout).unwrap().trim().to_owned();
        let mut parser = screen::parser(size.0, size.1);
        parser.process(&shown.raw);
        let texts = screen::decode_screen(parser.screen());
        assert_eq!(texts.len(), 1, "{}", shown.screen_text());
        assert!(
            texts[0].to_ascii_lowercase().starts_with(&signature),
            "{} vs {signature}",
            texts[0]
        );
        // Standard output carries the signature as one hex string for scripts and copy and
        // paste; everything on standard error fits the terminal.
        let wide: Vec<String> = test_free(screen::lines_wider_than(&shown.raw, size.0))
            .into_iter()
            .filter(|l| *l != signature)
            .collect();
        assert!(wide.is_empty(), "{wide:#?}");
    }
    // Too small: refused before anything secret is touched (no passphrase was needed).
    let shown = run(
        &dir,
        &[
            "sign",
            "--blind",
            "--yes",
            "--decryption-key",
            "decryption-key.age",
            "--response",
            s(&response),
            "--scheme",
            "ecdsa-secp256k1",
            "--message-hex",
            digest,
            "--qr",
        ],
        (40, 16),
        &[],
    );
    assert_eq!(shown.code, 2, "{}", shown.raw_text());
    assert!(shown.raw_text().contains("--qr-out"));
    assert!(!shown.raw_text().contains("Enter the passphrase"));
}

#[test]
fn keys_typed_ahead_are_neither_echoed_nor_taken_as_the_next_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let typed = format!("{PASSPHRASE}\n");
    // A line typed before the second prompt appears is dropped, not taken as the repeat;
    // keys typed while the key is sealed (a slower scrypt here) are not echoed.
    let ahead = format!("{PASSPHRASE}\nTYPED-AHEAD-1\n");
    let shown = screen::run(
        &bin(),
        &[
            "init",
            "--key-id",
            "key-01screen",
            "--out",
            "ceremony",
            "--scheme",
            "CGGMP24:secp256k1",
        ],
        &[
            ("KEYEXPORT_ALLOW_ONLINE", "1"),
            ("KEYEXPORT_TEST_SCRYPT_LOG_N", "18"),
        ],
        tmp.path(),
        SMALL,
        &[
            Step {
                wait_for: "Enter the passphrase",
                send: &ahead,
            },
            Step {
                wait_for: "Repeat the passphrase",
                send: &typed,
            },
            Step {
                wait_for: "\n",
                send: "TYPED-AHEAD-2",
            },
        ],
    );
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    let text = shown.raw_text();
    assert!(!text.contains("TYPED-AHEAD"), "{text}");
    assert!(!text.contains(PASSPHRASE), "{text}");
}

#[test]
fn the_keystore_passphrase_is_asked_before_the_decryption_key_is_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, response) = ceremony(tmp.path());
    // A mistyped keystore confirmation stops the run before the sealed key's passphrase is
    // asked: nothing to retype but the keystore passphrase.
    let shown = run(
        &dir,
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.age",
            "--response",
            s(&response),
            "--out",
            "key.json",
            "--format",
            "eth-keystore",
        ],
        SMALL,
        &[
            Step {
                wait_for: "Enter the passphrase of the Ethereum keystore",
                send: "one keystore passphrase\n",
            },
            Step {
                wait_for: "Repeat the passphrase of the Ethereum keystore",
                send: "another keystore passphrase\n",
            },
        ],
    );
    assert_eq!(shown.code, 5, "{}", shown.raw_text());
    assert!(
        shown
            .raw_text()
            .contains("the two passphrases typed differ")
    );
    assert!(!shown.raw_text().contains("sealed decryption key:"));
    assert!(!dir.join("key.json").exists());
}

#[test]
fn ctrl_c_at_a_prompt_says_nothing_was_written_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let shown = run(
        tmp.path(),
        &["init", "--key-id", "key-01screen", "--out", "ceremony"],
        SMALL,
        &[Step {
            wait_for: "Enter the passphrase",
            send: "half a passphr\x03",
        }],
    );
    assert_eq!(shown.code, 130, "{}", shown.raw_text());
    assert!(
        shown
            .raw_text()
            .contains("interrupted at a passphrase prompt: nothing was written."),
        "{}",
        shown.raw_text()
    );
    assert!(!tmp.path().join("ceremony").exists());
}
