//! `keyexport-offline sign`: sign one message with the rebuilt key, on the offline machine.
//!
//! Order (each step can refuse before the next one is reached, and nothing is signed or
//! printed on standard output until the signature has verified):
//! air-gap guard → `--recoverable` fits the scheme, `--qr-out` is free → read the message
//! and check it suits the scheme → the public key: from the response (the scheme must fit
//! its curve), or from `--public-key` → the key: rebuilt and verified exactly as
//! `reconstruct` does (`rebuild::rebuild`), or read from `--key` and checked against
//! the public key → sign and verify (`signature::sign`) → standard error: what was signed →
//! `--qr-out` PNG, `--qr` terminal code → standard output: the signature or the JSON object.
//!
//! Every run is appended to the ceremony transcript, failures included: the message's
//! SHA-256, the public key and the signature, never the key.
//!
//! The text output, also the content of the QR codes, is the signature in lowercase hex:
//! 64 bytes, or `r ‖ s ‖ recovery id` (65 bytes) with `--recoverable`. It is plain hex, not
//! a UR, so a phone's camera app or `zbarimg` on the online machine reads it as is.

use std::io::Write;
use std::path::{Path, PathBuf};

use keyexport_shared::curve::{PrivateKey, PublicKey};
use keyexport_shared::fsio;
use keyexport_shared::scheme::Curve;
use keyexport_shared::transport::{self, EcLevel, TerminalSize};
use serde::Serialize;

use super::keyfile::{self, KeyFile};
use super::message::{self, Message};
use super::tx;
use crate::airgap;
use crate::cli::SignArgs;
use crate::error::{CliError, CliResult, UsageError};
use crate::output::file::{check_new_file, write_output};
use crate::rebuild::{self, KeySource};
use crate::render;
use crate::signature::{self, SignScheme, SignedMessage};
use crate::transcript::{self, ArtifactRecord, Entry, Outcome, sha256_hex};

/// Pixels per QR module of `--qr-out` (the transport's measured default).
const QR_MODULE_PX: u32 = 8;

/// Runs `sign`, appending to the transcript whatever the outcome.
pub fn run(args: &SignArgs) -> CliResult<()> {
    let beside = args
        .decryption_key
        .first()
        .map(PathBuf::as_path)
        .or(args.key.as_deref())
        .unwrap_or(Path::new("."));
    let transcript_path = args
        .transcript
        .clone()
        .unwrap_or_else(|| transcript::parent_dir(beside).join(transcript::FILE_NAME));
    if let (Some(key), None) = (&args.key, &args.transcript)
        && transcript_path.symlink_metadata().is_err()
    {
        eprintln!(
            "Note         no transcript beside {}: this run starts a new one,",
            key.display()
        );
        eprintln!(
            "             {} (--transcript FILE adds to the ceremony's)",
            transcript_path.display()
        );
    }
    let mut entry = Entry::new("sign", args.air_gap.allow_online);
    let mut drawn_code = None;
    let result = execute(args, &mut entry);
    entry.outcome = Outcome::of(&result);
    let result = result.map(|(stdout, drawn)| {
        drawn_code = drawn;
        stdout
    });
    let logged = transcript::append(&transcript_path, &entry);
    // Standard output is written only once the run is recorded, so `--json` prints
    // exactly one object even when the transcript cannot be appended to.
    match (result, logged) {
        (Ok(stdout), Ok(head)) => {
            render::transcript_head(&head);
            let mut out = std::io::stdout();
            out.write_all(stdout.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|source| CliError::Write {
                    path: PathBuf::from("-"),
                    source,
                })?;
            // Last, so that nothing printed after it scrolls the code off the screen.
            if let Some(drawn) = drawn_code {
                eprintln!("{drawn}");
            }
            Ok(())
        }
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(log_error)) => {
            eprintln!("warning: the transcript was not updated: {log_error}");
            Err(e)
        }
    }
}

/// Runs the command; returns what goes to standard output (public data only) and the
/// `--qr` code drawn for the terminal.
fn execute(args: &SignArgs, entry: &mut Entry) -> CliResult<(String, Option<String>)> {
    airgap::enforce(args.air_gap.allow_online)?;
    let obtain = |scheme, entry: &mut Entry| obtain_key(args, scheme, entry);
    let stdout = if !args.psbt.is_empty() {
        tx::run::<tx::psbt::Parsed>(args, &args.psbt, entry, obtain)?
    } else if !args.eth_tx.is_empty() {
        tx::run::<tx::eth::Parsed>(args, &args.eth_tx, entry, obtain)?
    } else if let Some(input) = &args.solana_tx {
        tx::run::<tx::solana::Parsed>(args, input, entry, obtain)?
    } else {
        return sign_blind(args, entry);
    };
    Ok((stdout, None))
}

/// `--blind`: signs the digest or message as given, after the checks that need no secret.
fn sign_blind(args: &SignArgs, entry: &mut Entry) -> CliResult<(String, Option<String>)> {
    let scheme = args.scheme.ok_or(CliError::Usage(UsageError::NoScheme))?;
    if !args.blind {
        return Err(CliError::Usage(UsageError::NotBlind));
    }
    // The terminal must show the code whole: checked before any secret is touched, with a
    // signature-long text (the code's size depends only on the length).
    let terminal = crate::show::current_size(std::io::stderr());
    if args.qr {
        let len = if args.recoverable { 130 } else { 128 };
        terminal_code(&"a".repeat(len), terminal)?;
    }
    if args.recoverable && scheme != SignScheme::EcdsaSecp256k1 {
        return Err(CliError::Sign {
            input: None,
            source: signature::SignError::RecoveryUnsupported { scheme },
        });
    }
    if args.responses.iter().any(|r| r == "-") && args.message_ur.iter().any(|m| m == "-") {
        return Err(CliError::Usage(UsageError::StdinTwice));
    }
    if let Some(out) = &args.qr_out {
        check_new_file(out)?;
    }

    let message = message::read(args, scheme, entry)?;
    let message_sha256 = sha256_hex(&message.bytes);
    entry.facts.message_sha256 = Some(message_sha256.clone());
    signature::check_message(scheme, &message.bytes).map_err(|source| CliError::Sign {
        input: Some(message.source.clone()),
        source,
    })?;

    let (key, public_key) = obtain_key(args, scheme, entry)?;
    print_message(&message, &message_sha256);
    tx::warn_blind();
    tx::confirm(args.yes)?;
    let signed = signature::sign(&key, &public_key, scheme, &message.bytes, args.recoverable)
        .map_err(|source| CliError::Sign {
            input: None,
            source,
        })?;
    drop(key);
    entry.facts.signed = Some(signed.clone());
    entry.facts.signing = Some(transcript::SigningRecord {
        mode: transcript::SigningMode::Blind,
        format: None,
        transaction_sha256: None,
        signatures: vec![signed.clone()],
    });
    deliver(args, &signed, &message, &message_sha256, terminal, entry)
}

/// Prints the signature, writes and draws its QR code when asked, and returns what goes
/// to standard output: the signature, or with `--json` the whole record.
fn deliver(
    args: &SignArgs,
    signed: &SignedMessage,
    message: &Message,
    message_sha256: &str,
    terminal: TerminalSize,
    entry: &mut Entry,
) -> CliResult<(String, Option<String>)> {
    let text = signature_text(signed);
    print_signature(signed);

    let written = match &args.qr_out {
        Some(path) => {
            let png = qr_png(&text)?;
            write_output(path, &png, fsio::FileMode::Public)?;
            entry.outputs.push(ArtifactRecord::new(
                "signature-qr",
                &path.display().to_string(),
                &png,
            ));
            eprintln!("Wrote        {} (QR code of the signature)", path.display());
            Some(path.display().to_string())
        }
        None => None,
    };
    let drawn = if args.qr {
        Some(terminal_code(&text, terminal)?)
    } else {
        None
    };

    if args.json {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Success<'a> {
            #[serde(flatten)]
            signed: &'a SignedMessage,
            curve: &'static str,
            message: String,
            message_sha256: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            qr_out: Option<String>,
        }
        let success = Success {
            signed,
            curve: signed.scheme().curve().as_str(),
            message: hex::encode(&message.bytes),
            message_sha256,
            qr_out: written,
        };
        let mut json = keyexport_shared::display::to_json(&success)
            .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
        json.push('\n');
        return Ok((json, drawn));
    }
    Ok((format!("{text}\n"), drawn))
}

/// The verified key and the public key it was verified against.
fn obtain_key(
    args: &SignArgs,
    scheme: SignScheme,
    entry: &mut Entry,
) -> CliResult<(PrivateKey, PublicKey)> {
    let curve_check = |curve| check_curve(scheme, curve);
    if !args.decryption_key.is_empty() {
        // `reconstruct` without any delivery: the same inputs, checks and summary (one
        // sealed key, or custody parts sealed with passphrases or to --identity).
        let read = rebuild::read_response(&args.responses, entry)?;
        curve_check(read.response.curve)?;
        let source =
            KeySource::from_flags(&args.decryption_key, &args.passphrase_file, &args.identity)?;
        let rebuilt =
            rebuild::rebuild(&source, &read, args.air_gap.allow_online, entry)?.reconstruction;
        let Some(path) = &args.derive else {
            return Ok((rebuilt.private_key, rebuilt.public_key));
        };
        // Funds usually sit in derived wallets: sign with the child at --derive.
        let chain_code = crate::hd::require_chain_code(&rebuilt, "--derive")?;
        let child = crate::hd::derive_one(&rebuilt.private_key, chain_code, path)?;
        eprintln!(
            "Derived      {path} ({})",
            keyexport_shared::hd::scheme_name(child.public_key.curve())
        );
        eprintln!("Public key   {}", child.public_key.to_hex());
        entry.facts.derivation_path = Some(path.to_string());
        return Ok((child.private_key, child.public_key));
    }
    from_key_file(args, scheme, entry)
}

/// Refuses a response whose key is on another curve than `scheme` signs on.
fn check_curve(scheme: SignScheme, curve: Curve) -> CliResult<()> {
    if curve == scheme.curve() {
        Ok(())
    } else {
        Err(CliError::Sign {
            input: None,
            source: signature::SignError::CurveMismatch {
                scheme,
                expected: scheme.curve(),
                actual: curve,
            },
        })
    }
}

/// `--key`: the key file, checked against `--public-key` or the response's public key.
fn from_key_file(
    args: &SignArgs,
    scheme: SignScheme,
    entry: &mut Entry,
) -> CliResult<(PrivateKey, PublicKey)> {
    let Some(path) = &args.key else {
        return Err(CliError::Usage(UsageError::NoSigningKey));
    };
    let public_key = match &args.public_key {
        Some(hex_text) => parse_public_key(hex_text, scheme)?,
        None if !args.responses.is_empty() => {
            let response = rebuild::read_response(&args.responses, entry)?.response;
            check_curve(scheme, response.curve)?;
            response.public_key
        }
        None => {
            return Err(CliError::Usage(UsageError::KeyNeedsPublicKey));
        }
    };
    entry.facts.public_key = Some(public_key.to_hex());
    let loaded = keyfile::load(
        &KeyFile {
            path,
            identities: &args.identity,
            identity_passphrase_file: args.identity_passphrase_file.as_deref(),
        },
        &public_key,
        entry,
    )?;
    eprintln!(
        "Key file     {} ({}{})",
        path.display(),
        loaded.stored.name(),
        if loaded.encrypted {
            ", age-encrypted"
        } else {
            ""
        }
    );
    eprintln!("Public key   {}", public_key.to_hex());
    eprintln!("Verified     the key file matches the public key");
    Ok((loaded.key, public_key))
}

fn parse_public_key(text: &str, scheme: SignScheme) -> CliResult<PublicKey> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let bytes = hex::decode(digits).map_err(|e| {
        CliError::Usage(UsageError::PublicKeyNotHex {
            text: text.to_string(),
            reason: e.to_string(),
        })
    })?;
    PublicKey::from_bytes(scheme.curve(), &bytes).map_err(|problem| {
        CliError::Usage(UsageError::PublicKeyInvalid {
            text: text.to_string(),
            curve: scheme.curve().to_string(),
            reason: problem.to_string(),
        })
    })
}

/// The text output and QR content: the signature hex, `‖ recovery id` when asked for.
fn signature_text(signed: &SignedMessage) -> String {
    let mut text = signed.signature().to_hex();
    if let Some(id) = signed.signature().recovery_id() {
        text.push_str(&hex::encode([id]));
    }
    text
}

fn print_message(message: &Message, sha256: &str) {
    eprintln!(
        "Message      {} bytes from {}",
        message.bytes.len(),
        message.source
    );
    render::hex_value("  SHA-256", sha256);
}

fn print_signature(signed: &SignedMessage) {
    eprintln!("Sign scheme  {}", signed.scheme());
    if let signature::MessageDigest::Signed(digest) = signed.digest() {
        render::hex_value("Signed", &hex::encode(digest));
    }
    if signed.verifying_key() != signed.public_key().as_bytes() {
        render::hex_value("Verify key", &hex::encode(signed.verifying_key()));
    }
    render::hex_value("Signature", &signed.signature().to_hex());
    if let Some(id) = signed.signature().recovery_id() {
        eprintln!(
            "Recovery id  {id} (Ethereum yParity {id}; legacy v {}; EIP-155 v = 2·chainId + {})",
            27 + u32::from(id),
            35 + u32::from(id)
        );
    }
    eprintln!("Verified     the signature verifies against the public key");
}

/// A black-on-white PNG with the standard 4-module quiet zone.
fn qr_png(text: &str) -> CliResult<Vec<u8>> {
    transport::render_text_png(text, EcLevel::M, QR_MODULE_PX)
        .map_err(|e| CliError::Internal(format!("the signature QR code: {e}")))
}

/// The signature as a terminal code that fits `size` whole (half blocks, light modules
/// drawn so it scans on a dark terminal), with its caption beside or above it; the
/// cursor line below it is counted. The densest form is used only when needed: the text
/// as printed at level M, then in upper-case hex (QR alphanumeric mode, the same
/// signature to any hex reader) at M, then at L.
fn terminal_code(text: &str, size: TerminalSize) -> CliResult<String> {
    let upper = text.to_ascii_uppercase();
    let candidates = [
        (text, EcLevel::M, "Signature (hex)"),
        (upper.as_str(), EcLevel::M, "Signature (hex, upper case)"),
        (upper.as_str(), EcLevel::L, "Signature (hex, upper case)"),
    ];
    let (cols, rows) = (usize::from(size.cols), usize::from(size.rows));
    let mut needed = (0, 0);
    for (content, level, caption) in candidates {
        let (drawn, (code_cols, code_rows)) = transport::render_text_terminal_sized(content, level)
            .map_err(|e| CliError::Internal(format!("the signature QR code: {e}")))?;
        needed = (code_cols, code_rows + 1);
        if code_cols > cols || code_rows + 1 > rows {
            continue;
        }
        let beside = code_cols + 2 + caption.chars().count() <= cols;
        return Ok(if beside {
            let mut lines = drawn.lines();
            let first = lines.next().unwrap_or_default();
            let rest: Vec<&str> = lines.collect();
            format!("{first}  {caption}\n{}", rest.join("\n"))
        } else if code_rows + 2 <= rows {
            format!("{caption}:\n{drawn}")
        } else {
            drawn
        });
    }
    Err(CliError::TerminalTooSmall {
        needed_cols: needed.0,
        needed_rows: needed.1,
        cols: size.cols,
        rows: size.rows,
        advice: "Make the terminal at least that size (a smaller font, a larger window), or write the code to a PNG file with --qr-out FILE.png instead of --qr. Nothing was signed.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_image_scans_back_to_the_text() {
        let text = "ab".repeat(65);
        let png = qr_png(&text).unwrap();
        assert_eq!(
            keyexport_shared::transport::decode_image(&png).unwrap(),
            [text]
        );
        let small = TerminalSize { cols: 80, rows: 24 };
        let drawn = terminal_code(&"ab".repeat(65), small).unwrap();
        assert!(drawn.lines().count() < 24, "{drawn}");
        assert!(drawn.lines().all(|l| l.chars().count() <= 80));
        let tiny = TerminalSize { cols: 40, rows: 20 };
        let err = terminal_code(&"ab".repeat(65), tiny).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::EXIT_USAGE);
    }

    #[test]
    fn recoverable_text_appends_the_id() {
        let (key, public) = crate::signature::test_keys::reference(Curve::Secp256k1).remove(0);
        let signed =
            crate::signature::sign(&key, &public, SignScheme::EcdsaSecp256k1, &[1; 32], true)
                .unwrap();
        let text = signature_text(&signed);
        assert_eq!(text.len(), 130);
        assert!(text.starts_with(&signed.signature().to_hex()));
        let plain =
            crate::signature::sign(&key, &public, SignScheme::EcdsaSecp256k1, &[1; 32], false)
                .unwrap();
        assert_eq!(signature_text(&plain).len(), 128);
    }

    #[test]
    fn public_key_must_be_of_the_scheme_curve() {
        let (_, public) = crate::signature::test_keys::reference(Curve::Ed25519).remove(0);
        assert_eq!(
            parse_public_key(&public.to_hex(), SignScheme::Ed25519).unwrap(),
            public
        );
        let err = parse_public_key(&public.to_hex(), SignScheme::EcdsaSecp256k1).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::EXIT_USAGE);
    }
}
