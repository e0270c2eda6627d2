//! `keyexport-offline init`: create the decryption key, seal it, and write the request.
//!
//! Order matters for a custody operator: every check that can fail (air-gap guard, target
//! directory, passphrase) runs before the key exists; all artifacts are built in memory;
//! only then is the directory created and each file written atomically. The printed
//! ceremony id, key id and fingerprint are what the two operators compare aloud with the
//! online machine.

use std::path::{Path, PathBuf};

use keyexport_shared::files::RequestFile;
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::scheme::Scheme;
use keyexport_shared::wire::ExportRequestBody;
use keyexport_shared::{fsio, transport};

use crate::cli::InitArgs;
use crate::error::{CliError, CliResult};
use crate::passphrase::{self, Confirm};
use crate::render;
use crate::seal::{self, SealedPayload};
use crate::transcript::{self, ArtifactRecord, Entry};
use crate::airgap;

/// File name of the sealed decryption key inside the ceremony directory.
pub const SEALED_KEY_FILE: &str = "decryption-key.age";
/// File name of the request.
pub const REQUEST_FILE: &str = "request.json";
/// File name of the request's QR code.
pub const REQUEST_PNG: &str = "request.png";

/// Runs `init`.
pub fn run(args: &InitArgs) -> CliResult<()> {
    airgap::enforce(args.air_gap.allow_online)?;
    check_target_dir(&args.out)?;
    let log_n = seal::test_log_n()?.unwrap_or(seal::DEFAULT_LOG_N);
    let passphrase = passphrase::obtain(
        args.passphrase_file.as_deref(),
        passphrase::SEALED_KEY,
        Confirm::Twice,
    )?;

    let schemes = if args.schemes.is_empty() {
        Scheme::all()
    } else {
        dedup(&args.schemes)
    };
    let decryption_key = DecryptionKey::generate();
    let encryption_key = decryption_key.encryption_key();
    let body = ExportRequestBody::new(&encryption_key, schemes);
    let request = RequestFile::new(args.key_id.clone(), body);
    let request_json = request.to_json_pretty();

    let payload = SealedPayload::new(
        request.ceremony_id.to_string(),
        args.key_id.clone(),
        decryption_key.to_dfns_hex(),
    );
    let sealed = seal::seal(&payload, passphrase, log_n)?;
    let frames = transport::encode_frames(&request_json);
    let png = transport::render_png(&frames)
        .map_err(|e| CliError::shared("request QR code", e))?;

    std::fs::create_dir_all(&args.out).map_err(|source| CliError::Write {
        path: args.out.clone(),
        source,
    })?;
    let mut entry = Entry::new("init", args.air_gap.allow_online);
    entry.facts.ceremony_id = Some(request.ceremony_id.to_string());
    entry.facts.key_id = Some(args.key_id.clone());
    entry.facts.encryption_key_fingerprint = Some(encryption_key.fingerprint().to_string());
    if let Some(path) = &args.passphrase_file {
        entry.inputs.push(ArtifactRecord::passphrase_file(path));
    }
    let files: [(&str, &str, &[u8], fsio::FileMode); 3] = [
        ("sealed-key", SEALED_KEY_FILE, &sealed, fsio::FileMode::Secret),
        ("request", REQUEST_FILE, &request_json, fsio::FileMode::Public),
        ("request-qr", REQUEST_PNG, &png, fsio::FileMode::Public),
    ];
    for (role, name, bytes, mode) in files {
        let path = args.out.join(name);
        fsio::write_new(&path, bytes, mode).map_err(|e| CliError::shared(path.display().to_string(), e))?;
        entry.outputs.push(ArtifactRecord::new(role, path.display().to_string(), bytes));
    }
    let transcript_path = args.out.join(transcript::FILE_NAME);
    transcript::append(&transcript_path, &entry)?;

    eprintln!("Ceremony     {}", request.ceremony_id);
    eprintln!("Key id       {}", args.key_id);
    eprintln!("Fingerprint  {}", encryption_key.fingerprint());
    eprintln!("  (aloud:    {})", render::spoken(&encryption_key.fingerprint().to_string()));
    eprintln!(
        "Schemes      {}",
        request.body.supported_schemes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    eprintln!("Wrote");
    eprintln!("  {}  sealed decryption key (keep it with the passphrase; never leaves this machine)", args.out.join(SEALED_KEY_FILE).display());
    eprintln!("  {}  export request: carry it to the online machine", args.out.join(REQUEST_FILE).display());
    eprintln!("  {}  the request as a QR code", args.out.join(REQUEST_PNG).display());
    eprintln!("  {}  ceremony transcript", transcript_path.display());
    eprintln!();
    eprintln!("{}", transport::render_terminal(&frames));
    eprintln!("Compare the fingerprint aloud with the one keyexport-online shows before it calls Dfns.");
    Ok(())
}

/// `DIR` must be absent, or an empty directory.
fn check_target_dir(dir: &Path) -> CliResult<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(CliError::OutputDirNotEmpty { path: dir.to_path_buf() })
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CliError::Write {
            path: PathBuf::from(dir),
            source,
        }),
    }
}

/// Removes repeated schemes, keeping the operator's order.
fn dedup(schemes: &[Scheme]) -> Vec<Scheme> {
    let mut out: Vec<Scheme> = Vec::with_capacity(schemes.len());
    for scheme in schemes {
        if !out.contains(scheme) {
            out.push(*scheme);
        }
    }
    out
}
