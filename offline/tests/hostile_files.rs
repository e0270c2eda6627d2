//! Attacks by whoever controls the stick or the ceremony folder (docs/threat-model.md): a
//! network interface switched on but without link, one brought up while the passphrase is
//! typed, radios left on, a symbolic link planted in the key's or the transcript's place, a
//! ceremony folder made under `umask 000`, and seals whose work factor leaves no trace.
//! Each test reproduces the attack and checks it now fails safely: a clear error naming the
//! cause, a non-zero exit, no key written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use predicates::prelude::*;

use crate::common::{PASSPHRASE, SealedCeremony, offline, passphrase_file, s};
use crate::screen;

/// A fake `/sys/class` with `net/` holding loopback and `eth0` (down, not administratively
/// up: offline); returns the `net` folder (the test hook's value).
fn offline_sysfs(root: &Path) -> PathBuf {
    let net = root.join("sys/net");
    crate::common::fake_sysfs(
        &net,
        &[
            ("lo", "unknown\n", "0x9\n", "772\n"),
            ("eth0", "down\n", "0x1002\n", "1\n"),
        ],
    );
    net
}

#[test]
fn an_interface_up_without_link_counts_as_online() {
    let tmp = tempfile::tempdir().unwrap();
    let net = offline_sysfs(tmp.path());
    // Switched on (IFF_UP) but no carrier yet: a cable or an access point away from online.
    for operstate in ["down", "dormant", "lowerlayerdown"] {
        std::fs::write(net.join("eth0/operstate"), operstate).unwrap();
        std::fs::write(net.join("eth0/flags"), "0x1003\n").unwrap();
        let out = tmp.path().join(format!("c-{operstate}"));
        offline()
            .env_remove("KEYEXPORT_ALLOW_ONLINE")
            .env("KEYEXPORT_TEST_SYSFS_NET", &net)
            .args(["init", "--key-id", "k", "--out", s(&out)])
            .args([
                "--passphrase-file",
                s(&passphrase_file(tmp.path(), "p", PASSPHRASE)),
            ])
            .assert()
            .code(7)
            .stderr(predicate::str::contains(
                "error: network interface(s) up: eth0; refusing to handle secrets",
            ));
        assert!(!out.exists(), "{operstate}: nothing may be written");
    }
}

#[test]
fn radios_that_are_not_blocked_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let net = offline_sysfs(tmp.path());
    for (dir, name, kind, soft) in [
        ("rfkill0", "phy0", "wlan", "0"),
        ("rfkill1", "hci0", "bluetooth", "0"),
        ("rfkill2", "phy1", "wlan", "1"),
    ] {
        let radio = tmp.path().join("sys/rfkill").join(dir);
        std::fs::create_dir_all(&radio).unwrap();
        std::fs::write(radio.join("name"), format!("{name}\n")).unwrap();
        std::fs::write(radio.join("type"), format!("{kind}\n")).unwrap();
        std::fs::write(radio.join("soft"), format!("{soft}\n")).unwrap();
        std::fs::write(radio.join("hard"), "0\n").unwrap();
    }
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    let output = offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env("KEYEXPORT_TEST_SYSFS_NET", &net)
        .args(["init", "--key-id", "k", "--passphrase-file", s(&pass)])
        .args(["--out", s(&tmp.path().join("c"))])
        .output()
        .unwrap();
    assert!(output.status.success());
    // The warning box, whole: the radios on (phy1 is blocked), at most 80 columns.
    let stderr = String::from_utf8(output.stderr).unwrap();
    let warning: Vec<&str> = stderr.lines().filter(|l| l.starts_with('!')).collect();
    insta::assert_snapshot!(warning.join("\n"));
}

#[test]
fn an_interface_brought_up_during_the_passphrase_stops_reconstruct() {
    let tmp = tempfile::tempdir().unwrap();
    let net = offline_sysfs(tmp.path());
    let SealedCeremony { dir, response, .. } = SealedCeremony::new(tmp.path(), "key-01hostile");
    let key_out = tmp.path().join("key.hex");
    // The passphrase is typed at the terminal (a pseudo-terminal here): while reconstruct
    // waits at the prompt, after its first look at the network, eth0 comes up.
    let flags = net.join("eth0/flags");
    let typed = format!("{PASSPHRASE}\n");
    let shown = screen::run_with(
        Path::new(env!("CARGO_BIN_EXE_keyexport-offline")),
        &[
            "reconstruct",
            "--response",
            s(&response),
            "--decryption-key",
            s(&dir.join("decryption-key.age")),
            "--out",
            s(&key_out),
        ],
        &[
            ("KEYEXPORT_TEST_SCRYPT_LOG_N", "2"),
            ("KEYEXPORT_TEST_SYSFS_NET", s(&net)),
        ],
        tmp.path(),
        (80, 24),
        &[screen::Step {
            wait_for: "Enter the passphrase",
            send: &typed,
        }],
        |_| std::fs::write(&flags, "0x1003\n").unwrap(),
    );
    let text = shown.raw_text();
    assert_eq!(shown.code, 7, "{text}");
    assert!(
        text.contains("network interface(s) up after the passphrase was entered: eth0"),
        "{text}"
    );
    assert!(!key_out.exists(), "no key may be written");
}

#[test]
fn destroying_through_a_planted_symlink_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let SealedCeremony { dir, response, .. } = SealedCeremony::new(tmp.path(), "key-01hostile");
    // The ceremony's key file is a link to the copy on the stick.
    let stick = tmp.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let copy = stick.join("decryption-key.age");
    std::fs::rename(dir.join("decryption-key.age"), &copy).unwrap();
    std::os::unix::fs::symlink(&copy, dir.join("decryption-key.age")).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let key_out = tmp.path().join("key.hex");
    offline()
        .args(["reconstruct", "--response", s(&response)])
        .args(["--decryption-key", s(&dir.join("decryption-key.age"))])
        .args(["--passphrase-file", s(&tmp.path().join("pass.txt"))])
        .args(["--out", s(&key_out), "--destroy-decryption-key"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "--destroy-decryption-key: this is a symbolic link (to ",
        ))
        .stderr(predicate::str::contains("Destroyed").not());
    assert!(!key_out.exists(), "no key may be written");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the real file is untouched"
    );
    assert!(
        dir.join("decryption-key.age")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_planted_transcript_link_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let SealedCeremony { dir, response, .. } = SealedCeremony::new(tmp.path(), "key-01hostile");
    let elsewhere = tmp.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "someone else's file\n").unwrap();
    std::fs::rename(dir.join("transcript.jsonl"), tmp.path().join("moved.jsonl")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("transcript.jsonl")).unwrap();
    let key_out = tmp.path().join("key.hex");
    let output = offline()
        .args(["reconstruct", "--response", s(&response)])
        .args(["--decryption-key", s(&dir.join("decryption-key.age"))])
        .args(["--passphrase-file", s(&tmp.path().join("pass.txt"))])
        .args(["--out", s(&key_out)])
        .output()
        .unwrap();
    // The refusal as the operator reads it: which file, why, what to do.
    let stderr = String::from_utf8(output.stderr).unwrap();
    let report = stderr.find("error: ").map_or("", |at| &stderr[at..]);
    insta::assert_snapshot!(format!(
        "exit code: {:?}\n{}",
        output.status.code(),
        report.replace(s(tmp.path()), "[TMP]")
    ));
    assert!(!key_out.exists(), "no key may be written");
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        "someone else's file\n"
    );
}

#[test]
fn init_makes_a_private_ceremony_folder_under_umask_000() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    let dir = tmp.path().join("new/ceremony");
    let status = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_keyexport-offline"))
        .args(["init", "--key-id", "k", "--out", s(&dir)])
        .args(["--passphrase-file", s(&pass)])
        .envs(crate::common::TEST_ENV)
        .env_remove("KEYEXPORT_TEST_SYSFS_NET")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("decryption-key.age")), 0o600);
    assert_eq!(mode(&dir.join("transcript.jsonl")), 0o644);
}

#[test]
fn the_transcript_records_the_work_factor_of_every_seal() {
    let tmp = tempfile::tempdir().unwrap();
    let SealedCeremony { dir, response, .. } = SealedCeremony::new(tmp.path(), "key-01hostile");
    let keystore_pass = passphrase_file(tmp.path(), "keystore.txt", "keystore passphrase");
    offline()
        .args(["reconstruct", "--response", s(&response)])
        .args(["--decryption-key", s(&dir.join("decryption-key.age"))])
        .args(["--passphrase-file", s(&tmp.path().join("pass.txt"))])
        .args(["--out", s(&tmp.path().join("key.json"))])
        .args([
            "--format",
            "eth-keystore",
            "--keystore-passphrase-file",
            s(&keystore_pass),
        ])
        .assert()
        .success();
    let transcript = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sealed = &lines[0]["outputs"][0];
    assert_eq!(sealed["role"], "sealed-key");
    assert_eq!(sealed["scryptLogN"], 2, "the test hook's factor, recorded");
    assert!(
        lines[0]["outputs"][1].get("scryptLogN").is_none(),
        "the request is not sealed"
    );
    let keystore = &lines[1]["outputs"][0];
    assert_eq!(keystore["role"], "key-output");
    assert_eq!(keystore["scryptLogN"], 2);
}
