//! One key's ceremony folder: a temporary folder holding the two machines' folders and
//! the passphrase file, removed afterwards unless `--keep`.

use std::ffi::OsString;
use std::path::PathBuf;

use base64::Engine as _;
use rand_core::{OsRng, RngCore as _};
use tempfile::TempDir;

use super::tool::arg;

/// The folders and files of one key's ceremony.
pub(super) struct Workspace {
    folder: TempDir,
    /// The offline machine's folder.
    pub(super) offline_dir: PathBuf,
    /// The online machine's folder.
    pub(super) online_dir: PathBuf,
    /// `init --out`: the sealed decryption key, the request, later the canary receipt.
    pub(super) ceremony: PathBuf,
    /// `submit --out`: the response (and the canary's, in its own folder).
    pub(super) response_dir: PathBuf,
    /// A random passphrase for the sealed decryption key.
    pub(super) passphrase: PathBuf,
}

impl Workspace {
    /// Creates the temporary folder, the online machine's response folder and the
    /// passphrase file.
    pub(super) fn new() -> anyhow::Result<Self> {
        let folder = tempfile::Builder::new()
            .prefix("keyexport-rehearsal-")
            .tempdir()?;
        let root = folder.path();
        let offline_dir = root.join("offline-machine");
        let online_dir = root.join("online-machine");
        std::fs::create_dir_all(&online_dir)?;
        let passphrase = root.join("passphrase.txt");
        let mut secret = [0u8; 24];
        OsRng.fill_bytes(&mut secret);
        std::fs::write(
            &passphrase,
            base64::engine::general_purpose::STANDARD.encode(secret),
        )?;
        let response_dir = online_dir.join("ceremony");
        std::fs::create_dir_all(&response_dir)?;
        Ok(Workspace {
            folder,
            ceremony: offline_dir.join("ceremony"),
            offline_dir,
            online_dir,
            response_dir,
            passphrase,
        })
    }

    /// The offline machine's `reconstruct` of `images` (a response's QR codes) with the
    /// ceremony's sealed key and passphrase, `--json`; `reveal` adds `--reveal` (the
    /// rehearsal compares the revealed key with the sandbox's).
    pub(super) fn reconstruct_args(&self, images: &[PathBuf], reveal: bool) -> Vec<OsString> {
        let mut args = vec![
            arg("reconstruct"),
            arg("--decryption-key"),
            arg(self.ceremony.join("decryption-key.age")),
            arg("--passphrase-file"),
            arg(&self.passphrase),
            arg("--json"),
        ];
        if reveal {
            args.push(arg("--reveal"));
        }
        args.extend([arg("--allow-online"), arg("--response")]);
        args.extend(images.iter().map(arg));
        args
    }

    /// Ends the ceremony: the folder is removed, or kept and its path printed.
    pub(super) fn finish(self, keep: bool) {
        if keep {
            let kept = self.folder.keep();
            println!("   Ceremony folder kept: {}", kept.display());
        }
    }
}
