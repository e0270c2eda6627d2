//! How a batch ends when not every key was exported.

use keyexport_shared::ErrorKind;

/// How a batch ended when not every key was exported; its summary is already printed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Ctrl-C.
    #[error(
        "interrupted: run the same command again to resume ({not_attempted} key(s) not attempted)"
    )]
    Interrupted {
        /// Keys not tried.
        not_attempted: usize,
    },
    /// Keys whose export may have reached Dfns without an answer saved.
    #[error("{count} key(s) may have been exported without a saved answer")]
    Uncertain {
        /// How many.
        count: usize,
    },
    /// Saved responses failing a check.
    #[error("{count} saved response(s) fail a check")]
    CheckFailed {
        /// How many.
        count: usize,
    },
    /// Keys not exported, each listed with its reason.
    #[error("{count} key(s) were not exported")]
    Incomplete {
        /// How many.
        count: usize,
    },
}

impl BatchError {
    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            BatchError::Interrupted { .. } => ErrorKind::Interrupted,
            BatchError::Uncertain { .. } => ErrorKind::ExportUncertain,
            BatchError::CheckFailed { .. } => ErrorKind::ResponseCheck,
            BatchError::Incomplete { .. } => ErrorKind::BatchIncomplete,
        }
    }

    /// What to do next.
    pub fn advice(&self) -> String {
        let advice = match self {
            BatchError::Interrupted { .. } => {
                "Every response received was saved before this summary. The same command \
                 skips the saved keys and exports the others."
            }
            BatchError::Uncertain { .. } => {
                "Check each UNCERTAIN key at Dfns before anything else; run the same command \
                 with --retry-uncertain to re-send those Dfns shows as not exported."
            }
            BatchError::CheckFailed { .. } => {
                "Those keys are exported and their responses saved unchanged: do not export \
                 them again; `keyexport-offline reconstruct` verifies them independently."
            }
            BatchError::Incomplete { .. } => {
                "Each is listed with its reason. Fix what it names and run the same command \
                 again: saved keys are skipped, failed keys are tried again."
            }
        };
        advice.into()
    }
}
