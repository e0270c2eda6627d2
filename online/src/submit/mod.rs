//! `keyexport-online submit`: read the request, then export one key ([`single`]) or every
//! key of a batch request ([`batch`]). This is the one place that tells them apart.

pub mod batch;
pub mod canary;
pub mod single;

use keyexport_shared::files::Artifact;

use crate::cli::SubmitArgs;
use crate::error::OnlineError;
use crate::input;
use crate::interrupt::BeforeExport;

/// Runs `submit`. Until the export is confirmed, Ctrl-C ends the run saying nothing was
/// exported.
pub fn run(args: &SubmitArgs) -> Result<(), OnlineError> {
    let before = BeforeExport::watch();
    // Everything that can be checked offline comes before any traffic: first the input.
    let received = input::receive(&args.request)?;
    if let Ok(Artifact::BatchRequest(_)) = Artifact::parse(&received.bytes) {
        batch::run(args, &received, before)
    } else {
        single::run(args, &received, before)
    }
}
