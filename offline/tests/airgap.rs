//! The air-gap guard through the CLI, with a fake `/sys/class/net` (KEYEXPORT_TEST_SYSFS_NET).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::{
    self, PASSPHRASE, fake_sysfs, offline, passphrase_file, s, stdout_json, vector, vector_files,
};

/// An online machine: loopback and a wired interface up.
const ONLINE: &[(&str, &str, &str, &str)] = &[
    ("lo", "unknown", "0x9", "772"),
    ("eth0", "up", "0x1003", "1"),
];

/// A machine whose network interfaces the guard reads from a fake sysfs in a temporary
/// folder, which also holds a passphrase file for `init`.
struct Machine {
    tmp: tempfile::TempDir,
    sysfs: PathBuf,
    pass: PathBuf,
}

impl Machine {
    /// A machine with these interfaces `(name, operstate, flags, type)`.
    fn new(interfaces: &[(&str, &str, &str, &str)]) -> Machine {
        let machine = Machine::without_interface_list();
        fake_sysfs(&machine.sysfs, interfaces);
        machine
    }

    /// A machine whose interface list cannot be read (the folder is missing).
    fn without_interface_list() -> Machine {
        let tmp = tempfile::tempdir().unwrap();
        let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
        Machine {
            sysfs: tmp.path().join("net"),
            pass,
            tmp,
        }
    }

    /// A path in the machine's folder.
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `init --key-id k --out OUT` with the passphrase file, on this machine and without
    /// the test environment's override of the guard.
    fn init(&self, out: &str) -> Command {
        let mut cmd = offline();
        cmd.env_remove("KEYEXPORT_ALLOW_ONLINE")
            .env("KEYEXPORT_TEST_SYSFS_NET", &self.sysfs)
            .args(["init", "--key-id", "k", "--passphrase-file", s(&self.pass)])
            .args(["--out", s(&self.path(out))]);
        cmd
    }
}

#[test]
fn init_refuses_while_online() {
    let machine = Machine::new(ONLINE);
    let out = machine.path("ceremony");
    machine
        .init("ceremony")
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
    let machine = Machine::new(ONLINE);
    machine
        .init("a")
        .arg("--allow-online")
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
    machine
        .init("b")
        .env("KEYEXPORT_ALLOW_ONLINE", "1")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "WARNING: air-gap guard overridden",
        ));
}

#[test]
fn offline_machine_runs_without_warning() {
    let machine = Machine::new(&[
        ("lo", "unknown", "0x9", "772"),
        ("wlan0", "down", "0x1002", "1"),
    ]);
    machine
        .init("c")
        .assert()
        .success()
        .stderr(predicate::str::contains("WARNING").not());
}

#[test]
fn reconstruct_refuses_while_online_with_json_error() {
    let machine = Machine::new(ONLINE);
    let v = vector("cggmp24-secp256k1-2of3");
    let (key, response) = vector_files(machine.tmp.path(), &v);
    let output = common::reconstruct(&key, &response)
        .env("KEYEXPORT_ALLOW_ONLINE", "0")
        .env("KEYEXPORT_TEST_SYSFS_NET", &machine.sysfs)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "air-gap");
}

#[test]
fn unreadable_interface_list_is_refused() {
    Machine::without_interface_list()
        .init("d")
        .assert()
        .code(7)
        .stderr(predicate::str::contains(
            "cannot check the network interfaces",
        ));
}
