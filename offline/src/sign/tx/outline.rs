//! The one outline of `sign --psbt`, `--eth-tx` and `--solana-tx` ([`run`]), and what each
//! format implements for it ([`Transaction`]).

use std::path::Path;

use keyexport_shared::curve::{PrivateKey, PublicKey};
use keyexport_shared::transport::{UrFrame, UrType};
use serde::Serialize;

use super::{confirm, ur};
use crate::cli::SignArgs;
use crate::error::{CliError, CliResult};
use crate::signature::{SignScheme, SignedMessage};
use crate::transcript::{ArtifactRecord, Entry, SigningMode, SigningRecord};

/// What a transaction format does its own way; [`run`] is the outline they share.
pub trait Transaction: Sized {
    /// The format's name in the transcript and `--json`.
    const FORMAT: &'static str;
    /// The scheme of the key that signs it.
    const SCHEME: SignScheme;
    /// What the format's flag was given (one input, or several: QR frames).
    type Input: ?Sized;
    /// The transaction as the signing key sees it, found by [`Transaction::summarize`]
    /// and shown by [`Transaction::print`].
    type Seen;
    /// The signed transaction and the signatures made.
    type Signed;

    /// Reads and decodes the input; no key is needed for this.
    fn read(input: &Self::Input, args: &SignArgs, entry: &mut Entry) -> CliResult<Self>;
    /// SHA-256 of the input as read (hex).
    fn sha256(&self) -> &str;
    /// The SHA-256 the transcript records as the message, before the key is opened: the
    /// input's, unless the format signs something else than the input as a whole.
    fn message_sha256(&self) -> String {
        self.sha256().to_owned()
    }
    /// What the transaction does as `public_key` sees it; refuses what this key must not
    /// sign.
    fn summarize(&self, args: &SignArgs, public_key: &PublicKey) -> CliResult<Self::Seen>;
    /// Prints the summary on standard error, within 80 columns.
    fn print(&self, seen: &Self::Seen);
    /// Signs (every signature verified before it is returned) and encodes the signed
    /// transaction.
    fn sign(
        &self,
        seen: &Self::Seen,
        key: &PrivateKey,
        public_key: &PublicKey,
    ) -> CliResult<Self::Signed>;
    /// The signatures made, for the transcript.
    fn signatures(signed: &Self::Signed) -> Vec<SignedMessage>;
    /// Says on standard error what was signed.
    fn print_signed(_signed: &Self::Signed) {
        eprintln!("{SIGNED_ONE}");
    }
    /// The signed transaction as it is delivered.
    fn deliver(&self, signed: &Self::Signed) -> CliResult<Delivery>;
    /// The fields of the `--json` object between `format` and `transactionSha256`.
    fn json<'a>(
        &'a self,
        seen: &'a Self::Seen,
        signed: &'a Self::Signed,
        delivery: &'a Delivery,
        public_key: &'a PublicKey,
    ) -> impl Serialize + 'a;
}

/// The line that says one signature was made and checked.
pub const SIGNED_ONE: &str = "Signed       the signature verifies against the public key";

/// A signed transaction as it leaves the machine.
pub struct Delivery {
    /// The signed transaction as text: standard output's line, and its `--json` value.
    pub text: String,
    /// What `--out` holds.
    pub file: Vec<u8>,
    /// `--out`'s role in the transcript.
    pub role: &'static str,
    /// What `--out` holds, as the operator is told.
    pub what: &'static str,
    /// The answer for the wallet's camera (`--ur-out`, `--json`), when there is one.
    pub frames: Option<(UrType, Vec<UrFrame>)>,
}

/// `sign` with a transaction of format `T` given `input`: check the outputs are free,
/// read and decode the input, obtain the verified key (`obtain`, for `T::SCHEME`), show
/// the summary, confirm, sign, write `--ur-out` and `--out`, record the signatures;
/// returns standard output (the signed transaction, or the JSON object).
pub fn run<T: Transaction>(
    args: &SignArgs,
    input: &T::Input,
    entry: &mut Entry,
    obtain: impl FnOnce(SignScheme, &mut Entry) -> CliResult<(PrivateKey, PublicKey)>,
) -> CliResult<String> {
    if let Some(out) = &args.out {
        crate::output::file::check_new_file(out)?;
    }
    if let Some(dir) = &args.ur_out {
        ur::check_out_dir(dir)?;
    }
    let tx = T::read(input, args, entry)?;
    entry.facts.message_sha256 = Some(tx.message_sha256());
    let (key, public_key) = obtain(T::SCHEME, entry)?;
    let seen = tx.summarize(args, &public_key)?;
    tx.print(&seen);
    confirm(args.yes)?;
    let signed = tx.sign(&seen, &key, &public_key)?;
    drop(key);
    entry.facts.signing = Some(SigningRecord {
        mode: SigningMode::Checked,
        format: Some(T::FORMAT),
        transaction_sha256: Some(tx.sha256().to_owned()),
        signatures: T::signatures(&signed),
    });
    T::print_signed(&signed);
    let delivery = tx.deliver(&signed)?;
    if let (Some(dir), Some((ur_type, frames))) = (&args.ur_out, &delivery.frames) {
        ur::write_frames(dir, *ur_type, frames, entry)?;
        ur::print_written(dir, *ur_type, frames.len());
    }
    let written = write_signed(args.out.as_deref(), &delivery, entry)?;
    if !args.json {
        return Ok(format!("{}\n", delivery.text));
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a, D> {
        mode: SigningMode,
        format: &'static str,
        #[serde(flatten)]
        details: D,
        transaction_sha256: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        out: Option<String>,
    }
    let success = Success {
        mode: SigningMode::Checked,
        format: T::FORMAT,
        details: tx.json(&seen, &signed, &delivery, &public_key),
        transaction_sha256: tx.sha256(),
        out: written,
    };
    let mut json = keyexport_shared::display::to_json(&success)
        .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
    json.push('\n');
    Ok(json)
}

/// Writes the signed transaction to `--out` when it was given (public: it holds no
/// secret), records it in the transcript, and says so; returns the path written.
fn write_signed(
    out: Option<&Path>,
    delivery: &Delivery,
    entry: &mut Entry,
) -> CliResult<Option<String>> {
    let Some(path) = out else {
        return Ok(None);
    };
    let bytes = delivery.file.as_slice();
    crate::output::file::write_output(path, bytes, keyexport_shared::fsio::FileMode::Public)?;
    let shown = path.display().to_string();
    entry
        .outputs
        .push(ArtifactRecord::new(delivery.role, &shown, bytes));
    eprintln!("Wrote        {shown} ({})", delivery.what);
    Ok(Some(shown))
}
