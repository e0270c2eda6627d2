//! What a binary was built from: the `version --json` output, also recorded as `build`
//! in every line of the offline and online ceremony transcripts.
//!
//! An operator compares this with the published release (commit, `Cargo.lock` hash,
//! toolchain, `SHA256SUMS`) before trusting a binary carried to the air-gapped
//! machine. The values are captured at build time by `shared/build.rs` (see there for
//! where each comes from); none depends on the build directory, the time or the user,
//! so reproducible builds stay byte-identical.
//!
//! Each binary builds its own [`BuildInfo`] with the [`build_info!`](crate::build_info!)
//! macro, which reads the binary's package name, version and enabled features in the
//! binary's own crate:
//!
//! ```
//! // In a binary with `[features] camera = []`; list every feature the binary declares.
//! let info = keyexport_shared::build_info!("camera");
//! println!("{}", info.to_json());   // `version --json`
//! println!("{info}");               // `version` and transcript headers
//! ```

use std::fmt;

use serde::Serialize;

/// Value `build.rs` emits when it could not determine something.
const UNKNOWN: &str = "unknown";

/// Description of one binary's build. Serialised as the `version --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    /// Cargo package name of the binary, e.g. `keyexport-offline`.
    pub name: &'static str,
    /// Package version, e.g. `0.1.0`.
    pub version: &'static str,
    /// Full git commit of the source; `None` outside a checkout or kit.
    pub commit: Option<&'static str>,
    /// Whether tracked files differed from `commit`; `None` when it cannot be told.
    pub dirty: Option<bool>,
    /// `rustc -V` of the compiler that built it.
    pub rustc: &'static str,
    /// Target triple.
    pub target: &'static str,
    /// Cargo profile (`release` or `debug`).
    pub profile: &'static str,
    /// SHA-256 (hex) of the workspace `Cargo.lock`; `None` if it was not readable.
    pub cargo_lock_sha256: Option<&'static str>,
    /// Cargo features of the binary enabled in this build, in the order it lists them.
    pub features: Vec<&'static str>,
}

impl BuildInfo {
    /// The build of the binary named `name` at `version` with `features` enabled.
    ///
    /// Prefer the [`build_info!`](crate::build_info!) macro, which fills all three in.
    pub fn new(name: &'static str, version: &'static str, features: Vec<&'static str>) -> Self {
        BuildInfo {
            name,
            version,
            commit: known(env!("KEYEXPORT_COMMIT")),
            dirty: match env!("KEYEXPORT_DIRTY") {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            rustc: env!("KEYEXPORT_RUSTC"),
            target: env!("KEYEXPORT_TARGET"),
            profile: env!("KEYEXPORT_PROFILE"),
            cargo_lock_sha256: known(env!("KEYEXPORT_CARGO_LOCK_SHA256")),
            features,
        }
    }

    /// Pretty-printed JSON object, as `version --json` prints it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("BuildInfo holds only strings, booleans and a list of strings")
    }
}

/// One line: `keyexport-offline 0.1.0 (commit …, clean tree; rustc …; target profile;
/// Cargo.lock sha256 …; features: …)`.
impl fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (commit {}, {}; {}; {} {}; Cargo.lock sha256 {}; features: {})",
            self.name,
            self.version,
            self.commit.unwrap_or(UNKNOWN),
            match self.dirty {
                Some(false) => "clean tree",
                Some(true) => "DIRTY tree",
                None => "tree state unknown",
            },
            self.rustc,
            self.target,
            self.profile,
            self.cargo_lock_sha256.unwrap_or(UNKNOWN),
            if self.features.is_empty() {
                "none".to_owned()
            } else {
                self.features.join(",")
            }
        )
    }
}

fn known(value: &'static str) -> Option<&'static str> {
    (value != UNKNOWN).then_some(value)
}

/// The [`BuildInfo`] of the calling binary.
///
/// Expands in the caller's crate, so the package name and version are the binary's,
/// and each listed feature name is kept if `cfg!(feature = "…")` holds there. List
/// every feature the binary declares; a misspelt name is reported by rustc's
/// `unexpected_cfgs` lint.
///
/// ```
/// let info = keyexport_shared::build_info!();
/// assert_eq!(info.name, "keyexport-shared");
/// assert!(info.features.is_empty());
/// ```
#[macro_export]
macro_rules! build_info {
    ($($feature:literal),* $(,)?) => {
        $crate::build_info::BuildInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            {
                let declared: &[(&'static str, bool)] =
                    &[$(($feature, cfg!(feature = $feature))),*];
                declared
                    .iter()
                    .filter(|(_, enabled)| *enabled)
                    .map(|(name, _)| *name)
                    .collect()
            },
        )
    };
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use sha2::{Digest, Sha256};

    use super::*;

    fn workspace_root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("shared/ lies inside the workspace")
    }

    fn git(args: &[&str]) -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(workspace_root())
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    #[test]
    fn macro_fills_in_the_calling_package() {
        let info = crate::build_info!();
        assert_eq!(info.name, "keyexport-shared");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(info.features.is_empty());
    }

    #[test]
    #[allow(unexpected_cfgs)]
    fn macro_keeps_only_enabled_features() {
        // `keyexport-shared` declares no features, so none of these is enabled.
        let info = crate::build_info!("not-a-feature", "another");
        assert!(info.features.is_empty());
        let mut explicit = BuildInfo::new("x", "1.2.3", vec!["qr", "camera"]);
        assert_eq!(explicit.features, ["qr", "camera"]);
        explicit.features.clear();
        assert!(explicit.to_string().ends_with("features: none)"));
    }

    #[test]
    fn cargo_lock_hash_is_that_of_the_workspace_lock_file() {
        let lock = std::fs::read(workspace_root().join("Cargo.lock")).expect("Cargo.lock");
        let expected = hex::encode(Sha256::digest(&lock));
        assert_eq!(
            BuildInfo::new("x", "1", vec![]).cargo_lock_sha256,
            Some(expected.as_str())
        );
    }

    #[test]
    fn commit_and_tree_state_match_the_source() {
        let info = BuildInfo::new("x", "1", vec![]);
        if workspace_root().join(".git").exists() {
            // Built from a checkout: the commit is HEAD's and the dirty flag is git's.
            let head = git(&["rev-parse", "HEAD"]).expect("git works in the checkout");
            assert_eq!(info.commit, Some(head.as_str()));
            let status =
                git(&["status", "--porcelain", "--untracked-files=no"]).expect("git status works");
            assert_eq!(info.dirty, Some(!status.is_empty()));
        } else if let Ok(kit) = std::fs::read_to_string(workspace_root().join("SOURCE_COMMIT")) {
            // Built from the offline kit: the commit is the one the kit recorded.
            assert_eq!(info.commit, Some(kit.trim()));
            assert!(info.dirty.is_some());
        } else {
            assert_eq!(info.commit, None);
            assert_eq!(info.dirty, None);
        }
    }

    #[test]
    fn compiler_and_target_are_recorded() {
        let info = BuildInfo::new("x", "1", vec![]);
        assert!(info.rustc.starts_with("rustc "), "{}", info.rustc);
        assert!(info.target.split('-').count() >= 3, "{}", info.target);
        assert!(
            ["debug", "release"].contains(&info.profile),
            "{}",
            info.profile
        );
    }

    #[test]
    fn json_has_every_field_and_display_is_one_line() {
        let info = BuildInfo::new("keyexport-offline", "0.1.0", vec!["qr"]);
        let json: serde_json::Value = serde_json::from_str(&info.to_json()).expect("valid JSON");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "cargo_lock_sha256",
                "commit",
                "dirty",
                "features",
                "name",
                "profile",
                "rustc",
                "target",
                "version"
            ]
        );
        assert_eq!(json["features"], serde_json::json!(["qr"]));
        let line = info.to_string();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("keyexport-offline 0.1.0 (commit "),
            "{line}"
        );
        assert!(line.contains(info.target), "{line}");
    }
}
