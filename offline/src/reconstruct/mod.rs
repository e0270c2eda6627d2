//! `keyexport-offline reconstruct`: one key ([`single`]) or the keys of a batch ceremony
//! ([`batch`]), chosen here and only here. Both rebuild through `crate::rebuild` and share
//! [`common`]; a canary ceremony's response is one key, which also gets its receipt
//! ([`canary`]).

mod batch;
mod canary;
mod common;
mod single;

use crate::cli::ReconstructArgs;
use crate::error::CliResult;

/// Runs `reconstruct`: a batch when the responses are a batch's (see [`batch::is_batch`]),
/// one key otherwise.
pub fn run(args: &ReconstructArgs) -> CliResult<()> {
    if batch::is_batch(&args.responses) {
        batch::run(args)
    } else {
        single::run(args)
    }
}
