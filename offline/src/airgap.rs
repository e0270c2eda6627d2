//! Air-gap guard: `init`, `reconstruct`, `sign` and `custody verify` refuse to run while a
//! network interface is up.
//!
//! The decryption key and the rebuilt private key must only ever exist on a machine that
//! cannot talk to a network. On Linux every interface appears under `/sys/class/net/NAME`;
//! an interface counts as up when it is administratively up (`IFF_UP` in `flags`), whatever
//! its `operstate` says: a cable or an access point can bring an interface that is up but
//! without link (`down`, `dormant`, `lowerlayerdown`) online at any moment. An `operstate`
//! of `up` counts too. Loopback (`type` 772, ARPHRD_LOOPBACK) never counts. On other systems
//! there is no sysfs: the guard cannot see anything and says so instead of silently passing.
//!
//! The guard runs when a command starts, again once the passphrases are in (an interface
//! can come up while the operator types), and right before any secret is written or shown.
//! It also reports wireless radios (Wi-Fi, Bluetooth, WWAN: `/sys/class/rfkill`) that are
//! not blocked: a radio is not a network yet, so this warns rather than refuses.
//!
//! Debug builds (the test suite) read the interface list from the folder named by
//! `KEYEXPORT_TEST_SYSFS_NET` instead, and the radios from its sibling `rfkill`; release
//! builds contain neither the switch nor its name.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};
use crate::render;

/// Where Linux lists network interfaces.
const SYSFS_NET: &str = "/sys/class/net";

/// Test hook (debug builds only): replaces [`SYSFS_NET`] so tests can present a fake
/// interface list; the radios are then read from the sibling folder `rfkill`.
#[cfg(debug_assertions)]
const TEST_SYSFS_ENV: &str = "KEYEXPORT_TEST_SYSFS_NET";

/// ARPHRD_LOOPBACK from `<linux/if_arp.h>`.
const ARPHRD_LOOPBACK: u32 = 772;
/// IFF_UP from `<linux/if.h>`.
const IFF_UP: u32 = 0x1;

/// What the guard found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkState {
    /// No non-loopback interface is up.
    Offline,
    /// These interfaces are up.
    Online(Vec<String>),
    /// The interface list could not be read (no sysfs): the state is unknown.
    Unknown(PathBuf),
}

/// When the guard looks again ([`check_again`]): named in the refusal so the operator knows what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Once the passphrases have been read.
    AfterPassphrase,
    /// Right before a secret is written or shown.
    BeforeSecretOutput,
}

impl Moment {
    fn describe(self) -> &'static str {
        match self {
            Moment::AfterPassphrase => "after the passphrase was entered",
            Moment::BeforeSecretOutput => "right before the secret output",
        }
    }
}

/// Refuses to go on while the machine looks online, unless `allow_online` (then warns
/// loudly, once). Otherwise warns about wireless radios that are not blocked. Runs when a
/// command starts; [`check_again`] runs at each later [`Moment`].
pub fn enforce(allow_online: bool) -> CliResult<()> {
    // With the guard overridden the machine is declared online: its warning covers radios.
    let radios = if allow_online {
        Vec::new()
    } else {
        unblocked_radios(&rfkill_root())
    };
    if !radios.is_empty() {
        let listed = radios.join(", ");
        render::loud_warning(&[
            "WARNING: wireless radio(s) not blocked:",
            &listed,
            "Block them (rfkill block all) or remove the hardware.",
        ]);
    }
    let (refusal, found) = match network_state() {
        NetworkState::Offline => return Ok(()),
        NetworkState::Online(interfaces) => {
            let found = format!("Network interface(s) up: {}.", interfaces.join(", "));
            (
                CliError::NetworkUp {
                    interfaces,
                    when: None,
                },
                found,
            )
        }
        NetworkState::Unknown(path) => {
            let found = format!(
                "The network state is unknown ({} unreadable).",
                path.display()
            );
            (CliError::NetworkUnknown { path }, found)
        }
    };
    if !allow_online {
        return Err(refusal);
    }
    render::loud_warning(&[
        "WARNING: air-gap guard overridden (--allow-online): going on.",
        &found,
        "Secrets handled on a networked machine may leak.",
        "Rehearsals only!",
    ]);
    Ok(())
}

/// Looks again: refuses if an interface came up since [`enforce`] (silent when the guard
/// is overridden: [`enforce`] already warned).
pub fn check_again(allow_online: bool, moment: Moment) -> CliResult<()> {
    if allow_online {
        return Ok(());
    }
    match network_state() {
        NetworkState::Offline => Ok(()),
        NetworkState::Online(interfaces) => Err(CliError::NetworkUp {
            interfaces,
            when: Some(moment.describe()),
        }),
        NetworkState::Unknown(path) => Err(CliError::NetworkUnknown { path }),
    }
}

/// The interface folder: `/sys/class/net` (or the test override in debug builds).
fn net_root() -> PathBuf {
    #[cfg(debug_assertions)]
    if let Some(root) = std::env::var_os(TEST_SYSFS_ENV) {
        return PathBuf::from(root);
    }
    PathBuf::from(SYSFS_NET)
}

/// The radio folder: `rfkill` beside the interface folder (`/sys/class/rfkill`).
fn rfkill_root() -> PathBuf {
    let net = net_root();
    net.parent()
        .map_or_else(|| PathBuf::from("rfkill"), |p| p.join("rfkill"))
}

/// Reads the network state from the system.
pub fn network_state() -> NetworkState {
    network_state_at(&net_root())
}

/// Reads the network state from a sysfs-like directory.
pub fn network_state_at(root: &Path) -> NetworkState {
    let Ok(entries) = fs::read_dir(root) else {
        return NetworkState::Unknown(root.to_path_buf());
    };
    let mut up: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| interface_is_up(&entry.path()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    up.sort();
    if up.is_empty() {
        NetworkState::Offline
    } else {
        NetworkState::Online(up)
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn interface_is_up(dir: &Path) -> bool {
    let kind = read_trimmed(&dir.join("type")).and_then(|t| t.parse::<u32>().ok());
    if kind == Some(ARPHRD_LOOPBACK) {
        return false;
    }
    let flags = read_trimmed(&dir.join("flags"))
        .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
    // Unreadable flags count as up: the guard does not pass what it cannot see.
    flags.is_none_or(|flags| flags & IFF_UP != 0)
        || read_trimmed(&dir.join("operstate")).as_deref() == Some("up")
}

/// `text` without control characters (sysfs names are the kernel's, but a screen line
/// must stay one line).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Radios under a sysfs `rfkill` folder that are neither soft- nor hard-blocked, as
/// `NAME (TYPE)`, sorted. A missing folder means no radio (or no rfkill support).
pub fn unblocked_radios(root: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut radios: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let dir = entry.path();
            let blocked = |file: &str| read_trimmed(&dir.join(file)).as_deref() == Some("1");
            if blocked("soft") || blocked("hard") {
                return None;
            }
            let name = read_trimmed(&dir.join("name"))
                .unwrap_or_else(|| entry.file_name().to_string_lossy().into_owned());
            let kind = read_trimmed(&dir.join("type")).unwrap_or_else(|| "radio".into());
            Some(format!("{} ({})", printable(&name), printable(&kind)))
        })
        .collect();
    radios.sort();
    radios
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sysfs folder `dir` holding one line per `(file, value)`.
    fn sysfs_entry(dir: &Path, fields: &[(&str, &str)]) {
        fs::create_dir_all(dir).unwrap();
        for (file, value) in fields {
            fs::write(dir.join(file), format!("{value}\n")).unwrap();
        }
    }

    fn iface(root: &Path, name: &str, operstate: &str, flags: &str, kind: &str) {
        let fields = [("operstate", operstate), ("flags", flags), ("type", kind)];
        sysfs_entry(&root.join(name), &fields);
    }

    #[test]
    fn loopback_only_is_offline() {
        let tmp = tempfile::tempdir().unwrap();
        iface(tmp.path(), "lo", "unknown", "0x9", "772");
        iface(tmp.path(), "wlan0", "down", "0x1002", "1");
        iface(tmp.path(), "ifb0", "down", "0x82", "1");
        assert_eq!(network_state_at(tmp.path()), NetworkState::Offline);
    }

    #[test]
    fn administratively_up_counts_whatever_the_link() {
        for operstate in ["down", "dormant", "lowerlayerdown", "unknown", "notpresent"] {
            let tmp = tempfile::tempdir().unwrap();
            iface(tmp.path(), "lo", "unknown", "0x9", "772");
            iface(tmp.path(), "wlan0", operstate, "0x1003", "1");
            assert_eq!(
                network_state_at(tmp.path()),
                NetworkState::Online(vec!["wlan0".into()]),
                "{operstate}"
            );
        }
        // Unreadable flags: the guard does not pass what it cannot see.
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("eth9")).unwrap();
        fs::write(tmp.path().join("eth9/operstate"), "down\n").unwrap();
        assert_eq!(
            network_state_at(tmp.path()),
            NetworkState::Online(vec!["eth9".into()])
        );
    }

    fn radio(root: &Path, dir: &str, name: &str, kind: &str, soft: u8, hard: u8) {
        let (soft, hard) = (soft.to_string(), hard.to_string());
        let fields = [
            ("name", name),
            ("type", kind),
            ("soft", &soft),
            ("hard", &hard),
        ];
        sysfs_entry(&root.join(dir), &fields);
    }

    #[test]
    fn unblocked_radios_are_listed() {
        let tmp = tempfile::tempdir().unwrap();
        radio(tmp.path(), "rfkill0", "phy0", "wlan", 0, 0);
        radio(tmp.path(), "rfkill1", "hci0", "bluetooth", 0, 0);
        radio(tmp.path(), "rfkill2", "phy1", "wlan", 1, 0);
        radio(tmp.path(), "rfkill3", "wwan0", "wwan", 0, 1);
        assert_eq!(
            unblocked_radios(tmp.path()),
            ["hci0 (bluetooth)", "phy0 (wlan)"]
        );
        assert!(unblocked_radios(&tmp.path().join("none")).is_empty());
    }

    #[test]
    fn up_interfaces_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        iface(tmp.path(), "lo", "unknown", "0x9", "772");
        iface(tmp.path(), "eth0", "up", "0x1003", "1");
        iface(tmp.path(), "tun0", "unknown", "0x1091", "65534");
        iface(tmp.path(), "tun1", "unknown", "0x1090", "65534");
        assert_eq!(
            network_state_at(tmp.path()),
            NetworkState::Online(vec!["eth0".into(), "tun0".into()])
        );
    }

    #[test]
    fn missing_sysfs_is_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        assert_eq!(
            network_state_at(&missing),
            NetworkState::Unknown(missing.clone())
        );
    }
}
