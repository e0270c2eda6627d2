//! Keeping secrets in memory: no core dumps, and no swapping where the system allows it.
//!
//! Commands that handle a secret (`init`, `reconstruct`, `sign`, `custody verify`) call
//! [`protect`] first. On Linux it:
//! - marks the process not dumpable (`prctl(PR_SET_DUMPABLE, 0)`): no core file, and other
//!   processes of the same user cannot attach to it or read its memory through `/proc`;
//! - sets the core file size limit to zero (`RLIMIT_CORE`), for systems whose dump handler
//!   ignores the dumpable flag;
//! - locks its pages in RAM (`mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`), so no
//!   secret is written to swap, when `RLIMIT_MEMLOCK` is unlimited. With a finite limit (the
//!   usual 8 MiB for a user) locking future pages would make the 256 MiB scrypt allocation
//!   fail, so nothing is locked: the runbook's offline machine runs without swap.
//!
//! Each call is best effort and silent: none of them can make the ceremony less safe, and a
//! system that refuses one is not a reason to stop.

/// Turns off core dumps and locks memory where allowed (see the module documentation).
#[cfg(target_os = "linux")]
pub fn protect() {
    use rustix::mm::{MlockAllFlags, mlockall};
    use rustix::process::{
        DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setrlimit,
    };

    let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    if getrlimit(Resource::Memlock).current.is_none() {
        let _ = mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT);
    }
}

/// Outside Linux: the core size limit only (no `prctl`; locking is left to the system).
#[cfg(not(target_os = "linux"))]
pub fn protect() {
    use rustix::process::{Resource, Rlimit, setrlimit};

    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_is_not_dumpable_and_has_no_core_limit() {
        protect();
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
        let core = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(core.current, Some(0));
    }
}
