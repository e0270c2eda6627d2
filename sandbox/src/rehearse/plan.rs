//! What a rehearsal expects of one key, and how it may end: the rules every step reads.

use std::path::Path;

use sandbox::{KeySummary, Sandbox};

/// `keyexport-online submit`'s exit code for an export held by a policy (HTTP 202), as
/// the README's exit code table documents it.
pub(super) const EXIT_HELD: i32 = 9;

/// `submit`'s file holding Dfns' answer to a held export.
pub(super) const HELD_FILE: &str = "export-held.json";

/// The folder, in `submit --out`, of the canary's response and files.
pub(super) const CANARY_FOLDER: &str = keyexport_shared::canary::CANARY_RESPONSE_FOLDER;

/// How one key's rehearsal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The key was exported, rebuilt offline and equals the sandbox's.
    Rebuilt,
    /// The export was held by the policy, as `--policy-hold` asked.
    Held,
    /// The canary failed offline, as `--canary-share-format` asked: the real key untouched.
    CanaryFailed,
}

/// What one key's rehearsal is expected to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// A canary ceremony (not `--no-canary`).
    pub(super) canary: bool,
    /// The export (the canary's first, in a canary ceremony) is held.
    pub(super) hold: bool,
    /// The canary fails offline.
    pub(super) canary_fails: bool,
    /// Keep the folder.
    pub(super) keep: bool,
}

impl Plan {
    /// The ending this plan sets out to show.
    pub(super) fn ending(self) -> Ending {
        if self.hold {
            Ending::Held
        } else if self.canary && self.canary_fails {
            Ending::CanaryFailed
        } else {
            Ending::Rebuilt
        }
    }
}

/// One key's rehearsal: the sandbox, the key, the two ceremony binaries and the plan.
#[derive(Clone, Copy)]
pub(super) struct Rehearsal<'a> {
    pub(super) sandbox: &'a Sandbox,
    pub(super) key: &'a KeySummary,
    /// `keyexport-offline`.
    pub(super) offline: &'a Path,
    /// `keyexport-online`.
    pub(super) online: &'a Path,
    pub(super) plan: Plan,
}
