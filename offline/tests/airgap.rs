//! The air-gap guard through the CLI, with a fake `/sys/class/net` (KEYEXPORT_TEST_SYSFS_NET).

use std::path::Path;

use predicates::prelude::*;

use crate::common::{
    self, PASSPHRASE, fake_sysfs, offline, passphrase_file, s, stdout_json, vector, vector_files,
};

fn online_sysfs(root: &Path) {
    fake_sysfs(
        root,
        &[
            ("lo", "unknown", "0x9", "772"),
            ("eth0", "up", "0x1003", "1"),
        ],
    );
}

#[test]
fn init_refuses_while_online() {
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = tmp.path().join("net");
    online_sysfs(&sysfs);
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    let out = tmp.path().join("ceremony");
    offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args([
            "init",
            "--key-id",
            "k",
            "--out",
            s(&out),
            "--passphrase-file",
            s(&pass),
        ])
        .assert()
        .code(7)
        .stderr(predicate::str::contains(
            "error: network interface(s) up: eth0; refusing to handle secrets on an online machine",
        ))
        .stderr(predicate::str::contains("--allow-online"));
    assert!(
        !out.exists(),
        "nothing may be written when the guard refuses"
    );
}

#[test]
fn override_by_flag_or_env_warns_loudly() {
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = tmp.path().join("net");
    online_sysfs(&sysfs);
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args([
            "init",
            "--key-id",
            "k",
            "--allow-online",
            "--passphrase-file",
            s(&pass),
        ])
        .args(["--out", s(&tmp.path().join("a"))])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "WARNING: air-gap guard overridden (--allow-online): going on.",
        ))
        .stderr(predicate::str::contains("Network interface(s) up: eth0."))
        .stderr(predicate::str::contains("refusing").not())
        // The banner fits an 80-column terminal.
        .stderr(predicate::function(|text: &str| {
            text.lines()
                .filter(|l| l.starts_with('!'))
                .all(|l| l.chars().count() <= 80)
        }));
    offline()
        .env("KEYEXPORT_ALLOW_ONLINE", "1")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args(["init", "--key-id", "k", "--passphrase-file", s(&pass)])
        .args(["--out", s(&tmp.path().join("b"))])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "WARNING: air-gap guard overridden",
        ));
}

#[test]
fn offline_machine_runs_without_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = tmp.path().join("net");
    fake_sysfs(
        &sysfs,
        &[
            ("lo", "unknown", "0x9", "772"),
            ("wlan0", "down", "0x1002", "1"),
        ],
    );
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args(["init", "--key-id", "k", "--passphrase-file", s(&pass)])
        .args(["--out", s(&tmp.path().join("c"))])
        .assert()
        .success()
        .stderr(predicate::str::contains("WARNING").not());
}

#[test]
fn reconstruct_refuses_while_online_with_json_error() {
    let tmp = tempfile::tempdir().unwrap();
    let sysfs = tmp.path().join("net");
    online_sysfs(&sysfs);
    let v = vector("cggmp24-secp256k1-2of3");
    let (key, response) = vector_files(tmp.path(), &v);
    let output = common::reconstruct(&key, &response)
        .env("KEYEXPORT_ALLOW_ONLINE", "0")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "air-gap");
}

#[test]
fn unreadable_interface_list_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env("KEYEXPORT_TEST_SYSFS_NET", tmp.path().join("missing"))
        .args(["init", "--key-id", "k", "--passphrase-file", s(&pass)])
        .args(["--out", s(&tmp.path().join("d"))])
        .assert()
        .code(7)
        .stderr(predicate::str::contains(
            "cannot check the network interfaces",
        ));
}
