//! The key ids of `init`: `--key-id` (repeatable) and `--key-ids-file FILE`, merged in
//! that order, each id once. One id makes today's single-key request; more make a batch.

use keyexport_shared::files::KeyId;
use keyexport_shared::files::batch::{parse_key_id_list, unique_key_ids};
use keyexport_shared::input;

use crate::cli::InitArgs;
use crate::error::{CliError, CliResult, UsageError};

/// The most QR codes a request is shown as (one sheet of 3 × 3 codes, about 3.5 kB, some
/// 100 key ids); a longer batch request travels on removable media only.
pub const MAX_QR_FRAMES: usize = 9;

/// How many key ids are printed before "… and N more".
const SHOWN_IDS: usize = 10;

/// The key ids of the ceremony, validated, in order, without repetition.
pub fn key_ids(args: &InitArgs) -> CliResult<Vec<KeyId>> {
    let mut ids = Vec::with_capacity(args.key_id.len());
    for id in &args.key_id {
        ids.push(KeyId::new(id).map_err(|e| {
            CliError::Usage(UsageError::KeyId {
                id: id.to_string(),
                reason: e.to_string(),
            })
        })?);
    }
    if let Some(path) = &args.key_ids_file {
        let label = path.display().to_string();
        let text = crate::inputs::read_text(path, input::DOCUMENT, "a list of key ids")?;
        ids.extend(parse_key_id_list(&text).map_err(|e| CliError::shared(label, e))?);
    }
    // Never empty: clap requires --key-id or --key-ids-file, and a list file names at
    // least one id.
    unique_key_ids(ids).map_err(|e| {
        CliError::Usage(UsageError::KeyIds {
            reason: e.to_string(),
        })
    })
}

/// Prints the key id, or the batch's key ids (the first few, then the count), on stderr.
pub fn print_key_ids(ids: &[KeyId]) {
    match ids {
        [one] => eprintln!("Key id       {one}"),
        many => {
            eprintln!("Key ids      {} keys (batch)", many.len());
            for id in many.iter().take(SHOWN_IDS) {
                eprintln!("               {id}");
            }
            if many.len() > SHOWN_IDS {
                eprintln!(
                    "               … and {} more (all listed in the request)",
                    many.len() - SHOWN_IDS
                );
            }
        }
    }
}
