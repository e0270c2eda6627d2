//! Air-gap guard: `init` and `reconstruct` refuse to run while a network interface is up.
//!
//! The decryption key and the rebuilt private key must only ever exist on a machine that
//! cannot talk to a network (issue 4, "Safety"). On Linux every interface appears under
//! `/sys/class/net/NAME`; an interface counts as up when its `operstate` is `up`, or when it
//! is `unknown` (tun devices, some drivers) but administratively up (`IFF_UP` in `flags`).
//! Loopback (`type` 772, ARPHRD_LOOPBACK) never counts. On other systems there is no sysfs:
//! the guard cannot see anything and says so instead of silently passing.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};
use crate::render;

/// Where Linux lists network interfaces.
const SYSFS_NET: &str = "/sys/class/net";

/// Test hook: replaces [`SYSFS_NET`] so tests can present a fake interface list. Named for
/// tests; an operator has no reason to set it (and `--allow-online` is the honest override).
pub const TEST_SYSFS_ENV: &str = "KEYEXPORT_TEST_SYSFS_NET";

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

/// Refuses to go on while the machine looks online, unless `allow_online` (then warns loudly,
/// within 80 columns, saying what it found and that it goes on).
pub fn enforce(allow_online: bool) -> CliResult<()> {
    let (refusal, found) = match network_state() {
        NetworkState::Offline => return Ok(()),
        NetworkState::Online(interfaces) => {
            let found = format!("Network interface(s) up: {}.", interfaces.join(", "));
            (CliError::NetworkUp { interfaces }, found)
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

/// Reads the network state from the system (or the test override).
pub fn network_state() -> NetworkState {
    let root = std::env::var_os(TEST_SYSFS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SYSFS_NET));
    network_state_at(&root)
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
        .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    match read_trimmed(&dir.join("operstate")).as_deref() {
        Some("up") => true,
        Some("unknown") => flags & IFF_UP != 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(root: &Path, name: &str, operstate: &str, flags: &str, kind: &str) {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("operstate"), format!("{operstate}\n")).unwrap();
        fs::write(dir.join("flags"), format!("{flags}\n")).unwrap();
        fs::write(dir.join("type"), format!("{kind}\n")).unwrap();
    }

    #[test]
    fn loopback_only_is_offline() {
        let tmp = tempfile::tempdir().unwrap();
        iface(tmp.path(), "lo", "unknown", "0x9", "772");
        iface(tmp.path(), "wlan0", "down", "0x1003", "1");
        iface(tmp.path(), "ifb0", "down", "0x82", "1");
        assert_eq!(network_state_at(tmp.path()), NetworkState::Offline);
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
