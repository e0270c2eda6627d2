//! Signing what the operator sees: transactions parsed on the offline machine, summarised,
//! confirmed, then signed with the already verified key (`sign --psbt`, `--eth-tx`,
//! `--solana-tx`).
//!
//! [`run`] is the one outline of the three: read and decode the input, obtain the key,
//! summarise, show, confirm, sign, deliver (`--ur-out`, `--out`, standard output), record.
//! Each format implements [`Transaction`] for what differs: `psbt` (with `psbt_v2`), `eth`
//! (with `eth_ur`), `solana`; `ur` reads and writes wallets' QR frames.
//!
//! The parsers and summaries here take the key as the caller has it once it is rebuilt and
//! verified against the export's public key; they never open a key themselves. Every
//! signature goes through [`crate::signature::sign`], which verifies it before returning it.

pub mod eth;
pub mod eth_ur;
mod outline;
pub mod psbt;
pub mod psbt_v2;
pub mod solana;
pub mod ur;

pub use outline::{Delivery, SIGNED_ONE, Transaction, run};

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, CliResult, UsageError};

/// A transaction input refused: what is wrong with it, naming it by `label`.
pub(crate) fn input_error(label: &str, problem: impl Into<String>) -> CliError {
    CliError::Transaction {
        input: label.to_owned(),
        problem: problem.into(),
    }
}

/// Asks the operator to type `sign` after the summary; `--yes` skips the question. Without
/// a terminal and without `--yes`, nothing is signed.
pub(crate) fn confirm(yes: bool) -> CliResult<()> {
    if yes {
        eprintln!("Confirmed    by --yes (not asking)");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(UsageError::NoTerminalToConfirm));
    }
    eprint!("Type `sign` to sign what is shown above: ");
    // A prompt that cannot be flushed still reads the answer.
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::ReadInput {
            path: "the confirmation".into(),
            source,
        })?;
    if line.trim() == "sign" {
        Ok(())
    } else {
        Err(CliError::Usage(UsageError::NotConfirmed))
    }
}

/// The warning of a blind signature, printed once the bytes to sign are shown.
pub(crate) fn warn_blind() {
    crate::render::loud_warning(&[
        "BLIND SIGNING: these bytes are signed as given. This machine cannot",
        "see what they pay: amounts, recipients and fees are not checked.",
        "Compare the SHA-256 above with the paper log and the wallet that made",
        "them. Prefer giving the transaction itself (--psbt), shown before signing.",
    ]);
}

/// Prints `warning: TEXT` on standard error, wrapped at word boundaries to 80 columns
/// (continuation lines indented under the text).
pub(crate) fn print_warning(text: &str) {
    const PREFIX: &str = "warning: ";
    let mut line = String::from(PREFIX);
    for word in text.split(' ') {
        let fits = line.chars().count() + 1 + word.chars().count() <= 80;
        if line.len() > PREFIX.len() && !fits {
            eprintln!("{line}");
            line = " ".repeat(PREFIX.len());
        } else if line.len() > PREFIX.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    eprintln!("{line}");
}

/// `sats` as BTC with 8 decimals, exactly.
pub(crate) fn btc(sats: u64) -> String {
    format!("{}.{:08} BTC", sats / 100_000_000, sats % 100_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::test_keys::reference;
    use keyexport_shared::scheme::Curve;
    use proptest::prelude::*;

    /// Valid inputs of every format, to be damaged by the property tests.
    fn samples() -> Vec<Vec<u8>> {
        use bitcoin::{Amount, ScriptBuf, Transaction, TxOut, absolute, transaction};
        let (_, public) = reference(Curve::Secp256k1).remove(0);
        let compressed =
            bitcoin::CompressedPublicKey::from_slice(&public.secp256k1_compressed().unwrap())
                .unwrap();
        let script = ScriptBuf::new_p2wpkh(&compressed.wpubkey_hash());
        let tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![bitcoin::TxIn::default()],
            output: vec![TxOut {
                value: Amount::from_sat(900),
                script_pubkey: script.clone(),
            }],
        };
        let mut psbt = bitcoin::psbt::Psbt::from_unsigned_tx(tx).unwrap();
        psbt.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(1000),
            script_pubkey: script.clone(),
        });
        // The same as version 2 (BIP-370): global TX_VERSION, INPUT_COUNT, OUTPUT_COUNT,
        // VERSION; input witness_utxo, PREVIOUS_TXID, OUTPUT_INDEX; output AMOUNT, SCRIPT.
        let mut v2 = b"psbt\xff\x01\x02\x04\x02\0\0\0\x01\x04\x01\x01\x01\x05\x01\x01".to_vec();
        v2.extend_from_slice(b"\x01\xfb\x04\x02\0\0\0\0\x01\x01\x1f");
        v2.extend_from_slice(&1000u64.to_le_bytes());
        v2.push(0x16);
        v2.extend_from_slice(script.as_bytes());
        v2.extend_from_slice(b"\x01\x0e\x20");
        v2.extend_from_slice(&[0; 32]);
        v2.extend_from_slice(b"\x01\x0f\x04\xff\xff\xff\xff\0\x01\x03\x08");
        v2.extend_from_slice(&900u64.to_le_bytes());
        v2.extend_from_slice(b"\x01\x04\x16");
        v2.extend_from_slice(script.as_bytes());
        v2.push(0);
        let (_, ed) = reference(Curve::Ed25519).remove(0);
        let mut solana = vec![1, 0, 1, 2];
        solana.extend_from_slice(ed.as_bytes());
        solana.extend_from_slice(&[0; 32]);
        solana.extend_from_slice(&[7; 32]);
        solana.extend_from_slice(&[1, 1, 1, 0, 12, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        vec![
            psbt.serialize(),
            hex::decode("ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080").unwrap(),
            hex::decode(format!("02e801078{}8506fc23ac0082ea6094{}0180c0", "43b9aca00", "35".repeat(20))).unwrap(),
            solana,
            v2,
        ]
    }

    /// Every parser and summary on `bytes`: errors are fine, panics are not.
    fn all_parsers(bytes: &[u8]) {
        let (key, secp) = reference(Curve::Secp256k1).remove(0);
        let (_, ed) = reference(Curve::Ed25519).remove(0);
        if let Ok(parsed) = psbt::parse(bytes, "fuzz")
            && let Ok(summary) = psbt::summarize(&parsed, &secp, crate::cli::Network::Mainnet)
        {
            // Signing writes the signatures back (into the version 2 maps, for one).
            let _ = psbt::sign(&parsed, &summary, &key, &secp);
        }
        let _ = eth::parse(bytes, "fuzz", Some(1));
        let _ = eth_ur::decode(bytes);
        let _ = psbt::parse_ur(
            keyexport_shared::transport::UrType::CryptoPsbt,
            bytes,
            "fuzz",
        );
        if let Ok(parsed) = solana::parse(bytes, "fuzz") {
            let _ = solana::summarize(&parsed, &ed);
        }
    }

    #[test]
    fn the_samples_parse() {
        let samples = samples();
        assert!(psbt::parse(&samples[0], "s").is_ok());
        assert!(eth::parse(&samples[1], "s", None).is_ok());
        assert!(eth::parse(&samples[2], "s", None).is_ok());
        assert!(solana::parse(&samples[3], "s").is_ok());
        let v2 = psbt::parse(&samples[4], "s").unwrap();
        let (key, secp) = reference(Curve::Secp256k1).remove(0);
        let summary = psbt::summarize(&v2, &secp, crate::cli::Network::Mainnet).unwrap();
        // Signed, it is still version 2, one key longer, and reads back.
        let signed = psbt::sign(&v2, &summary, &key, &secp).unwrap();
        assert_eq!(psbt_v2::version(&signed.bytes), Some(2));
        assert!(signed.bytes.len() > samples[4].len());
        assert!(psbt::parse(&signed.bytes, "signed").is_ok());
    }

    /// Every parser on `bytes` with the bytes at `flips` changed, then cut at `cut`.
    fn damaged_parse(mut bytes: Vec<u8>, flips: &[(usize, u8)], cut: usize) {
        for &(at, value) in flips {
            let len = bytes.len();
            bytes[at % len] = value;
        }
        all_parsers(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        all_parsers(&bytes);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            all_parsers(&bytes);
        }

        #[test]
        fn damaged_version_2_psbts_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            cut in any::<usize>(),
        ) {
            damaged_parse(samples().swap_remove(4), &flips, cut);
        }

        #[test]
        fn damaged_transactions_never_panic(
            which in 0usize..5,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
            cut in any::<usize>(),
        ) {
            damaged_parse(samples().swap_remove(which), &flips, cut);
        }
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(btc(0), "0.00000000 BTC");
        assert_eq!(btc(1), "0.00000001 BTC");
        assert_eq!(btc(2_100_000_000_000_000), "21000000.00000000 BTC");
        assert_eq!(btc(123_456_789), "1.23456789 BTC");
    }
}
