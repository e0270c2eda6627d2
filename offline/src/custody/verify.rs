//! `keyexport-offline custody verify PART`: one custodian checks their part unseals and
//! belongs to the ceremony (to its request, with `--request`), without the other parts.

use std::path::{Path, PathBuf};

use keyexport_shared::custody::{CommitmentsDigest, CustodyPart, PartFault};
use keyexport_shared::display::Escaped;
use keyexport_shared::files::{Artifact, CeremonyId};
use keyexport_shared::input::DOCUMENT;
use keyexport_shared::keys::{EncryptionKey, Fingerprint};
use zeroize::Zeroizing;

use super::{OpenFailure, Passphrases, foreign_name, load_identities, open_part, who};
use crate::airgap;
use crate::cli::CustodyVerifyArgs;
use crate::error::{CliError, CliResult, InputProblem};
use crate::inputs::read_input;
use crate::render;

/// `keyexport-offline custody verify PART`.
pub fn run(args: &CustodyVerifyArgs) -> CliResult<()> {
    airgap::enforce(args.air_gap.allow_online)?;
    let request = args.request.as_deref().map(read_request).transpose()?;
    let shown = args.part.display().to_string();
    let part = open(args, &shown)?;
    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;
    let fault = |fault: PartFault| CliError::Input {
        path: shown.clone(),
        problem: InputProblem::PartFault {
            label: part.label.to_string(),
            fault,
        },
    };
    part.check().map_err(fault)?;
    let key = part.encryption_key().map_err(fault)?;
    let commitments = part.commitments_digest().map_err(fault)?;
    if let (Some(request), Some(path)) = (&request, &args.request) {
        if request.ceremony_id != part.ceremony_id || request.encryption_key != key {
            return Err(fault(PartFault::ForeignCeremony(foreign_name(&part))));
        }
        let Some(recorded) = &request.commitments else {
            return Err(CliError::Input {
                path: path.display().to_string(),
                problem: InputProblem::NoCommitments,
            });
        };
        part.check_recorded(recorded).map_err(fault)?;
    }
    print_part(&shown, &part, &key.fingerprint(), &commitments);
    match &args.request {
        Some(path) => eprintln!(
            "Bound        to the encryption key and commitments of {}",
            path.display()
        ),
        None => eprintln!(
            "Compare the ceremony id and fingerprint with the paper log (or pass --request)."
        ),
    }
    Ok(())
}

/// Reads and unseals the part (its passphrase from `--passphrase-file` or the terminal,
/// or an `--identity`); a part that does not open is the run's error.
fn open(args: &CustodyVerifyArgs, shown: &str) -> CliResult<CustodyPart> {
    let identities = load_identities(&args.identity)?;
    let bytes = Zeroizing::new(read_input(shown, &args.part, DOCUMENT)?);
    let files: Vec<PathBuf> = args.passphrase_file.iter().cloned().collect();
    let mut passphrases = Passphrases::new(&files);
    match open_part(
        &bytes,
        shown,
        &who(&args.part),
        &mut passphrases,
        &identities,
    ) {
        Ok(part) => Ok(part),
        Err(OpenFailure::Fatal(e)) => Err(e),
        Err(OpenFailure::WrongPassphrase) => Err(CliError::WrongPassphrase {
            path: args.part.clone(),
        }),
        Err(OpenFailure::SetAside(problem)) => Err(CliError::Input {
            path: shown.to_owned(),
            problem,
        }),
    }
}

/// The part's public facts, for the custodian to compare with the paper log.
fn print_part(
    shown: &str,
    part: &CustodyPart,
    fingerprint: &Fingerprint,
    commitments: &CommitmentsDigest,
) {
    eprintln!("Part         {}", Escaped(shown));
    eprintln!(
        "Custodian    {} (part {} of {})",
        Escaped(&part.label),
        part.index,
        part.custodians
    );
    eprintln!(
        "Quorum       {} of {} parts rebuild the key",
        part.quorum, part.custodians
    );
    eprintln!("Ceremony     {}", part.ceremony_id);
    match &part.key_id {
        Some(id) => eprintln!("Key id       {id}"),
        None => eprintln!("Key ids      {} keys (batch)", part.key_ids.len()),
    }
    eprintln!("Fingerprint  {fingerprint}");
    render::aloud(fingerprint.as_str());
    eprintln!("Commitments  {commitments}");
    eprintln!("Verified     the part unseals and its share matches its commitments");
}

/// What `custody verify --request` compares a part with, from a single-key or a batch
/// request.
struct RequestFacts {
    ceremony_id: CeremonyId,
    encryption_key: EncryptionKey,
    commitments: Option<CommitmentsDigest>,
}

fn read_request(path: &Path) -> CliResult<RequestFacts> {
    let shown = path.display().to_string();
    let bytes = read_input(&shown, path, DOCUMENT)?;
    match Artifact::parse(&bytes).map_err(|e| CliError::shared(shown.clone(), e))? {
        Artifact::Request(request) => Ok(RequestFacts {
            ceremony_id: request.ceremony_id,
            encryption_key: request.dfns_request.encryption_key,
            commitments: request.custody_commitments_sha256,
        }),
        Artifact::BatchRequest(request) => Ok(RequestFacts {
            ceremony_id: request.ceremony_id,
            encryption_key: request.dfns_request.encryption_key,
            commitments: request.custody_commitments_sha256,
        }),
        other => Err(CliError::Input {
            path: shown,
            problem: InputProblem::NotTheRequest {
                found: other.describe().to_string(),
            },
        }),
    }
}
