//! `sign --psbt`, `--eth-tx`, `--solana-tx`: transactions built here independently of the
//! binary (the `bitcoin` crate, the `rlp` crate, Solana's wire format by hand), signed by
//! the binary, then verified with other implementations than the one that signs
//! (libsecp256k1 for Bitcoin and Ethereum, ed25519-dalek for Solana); the summaries, the
//! confirmation, wallets' QR codes and hostile inputs. The fixtures come first.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use base64::Engine;
use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{
    Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness, XOnlyPublicKey, absolute, transaction,
};
use serde_json::Value;

use crate::common::{Ceremony, offline, s, stdout_json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An export of the test vectors (its plain decryption key and response in the ceremony's
/// folder, the transcript beside them), its key's scripts and addresses, and the `sign`
/// runs over it. The vectors' keys sign the same way every run (RFC 6979, Ed25519), so
/// the output is the same every run too.
struct Export {
    ceremony: Ceremony,
}

impl Export {
    /// The CGGMP24 secp256k1 (2 of 3) export.
    fn secp256k1() -> Export {
        Export {
            ceremony: Ceremony::from_vector("cggmp24-secp256k1-2of3"),
        }
    }

    /// The FROST ed25519 (2 of 3) export.
    fn ed25519() -> Export {
        Export {
            ceremony: Ceremony::from_vector("frost-ed25519-2of3"),
        }
    }

    fn dir(&self) -> &Path {
        self.ceremony.dir()
    }

    /// Writes `bytes` into the folder as `name`; returns its path.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn public_key(&self) -> Vec<u8> {
        hex::decode(
            self.ceremony.vector["response"]["publicKey"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    }

    /// The ed25519 public key.
    fn ed25519_key(&self) -> [u8; 32] {
        self.public_key().try_into().unwrap()
    }

    /// The private key, hex (what the transcript must never hold).
    fn private_key(&self) -> &str {
        self.ceremony.expected_key()
    }

    fn compressed(&self) -> CompressedPublicKey {
        CompressedPublicKey::from_slice(&self.public_key()).unwrap()
    }

    fn secret(&self) -> SecretKey {
        SecretKey::from_slice(&hex::decode(self.private_key()).unwrap()).unwrap()
    }

    fn p2wpkh(&self) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&self.compressed().wpubkey_hash())
    }

    fn internal(&self) -> XOnlyPublicKey {
        XOnlyPublicKey::from(self.compressed().0)
    }

    fn p2tr(&self) -> ScriptBuf {
        ScriptBuf::new_p2tr(&Secp256k1::new(), self.internal(), None)
    }

    /// The Ethereum address (20 bytes), from the public key.
    fn eth_address(&self) -> Vec<u8> {
        use sha3::{Digest, Keccak256};
        let point = self.compressed().0.serialize_uncompressed();
        Keccak256::digest(&point[1..])[12..].to_vec()
    }

    /// The Ethereum address `reconstruct --json` shows for the export, lower case.
    fn shown_eth_address(&self) -> String {
        let shown = self.ceremony.reconstruct().arg("--json").output().unwrap();
        stdout_json(&shown)["addresses"]["ethereum"]
            .as_str()
            .unwrap()
            .to_lowercase()
    }

    /// `sign --decryption-key … --response …`, to which a test adds its flags.
    fn sign_command(&self) -> Command {
        let mut command = offline();
        command
            .args(["sign", "--decryption-key", s(&self.ceremony.key)])
            .args(["--response", s(&self.ceremony.response)]);
        command
    }

    /// `sign … FLAG INPUT` plus `extra`.
    fn sign_tx(&self, flag: &str, input: &str, extra: &[&str]) -> Output {
        self.sign_command()
            .args([flag, input])
            .args(extra)
            .output()
            .unwrap()
    }

    /// `sign … --psbt INPUT` plus `extra`.
    fn sign(&self, input: &str, extra: &[&str]) -> Output {
        self.sign_tx("--psbt", input, extra)
    }

    /// `sign … --psbt` of `psbt` in base64, plus `extra`.
    fn sign_psbt(&self, psbt: &Psbt, extra: &[&str]) -> Output {
        self.sign(&B64.encode(psbt.serialize()), extra)
    }

    /// A spend of this key's coins: one P2WPKH and one P2TR input of the key (1,150,000
    /// sat), a payment to `foreign_script(7)` and change (fee 1,410 sat).
    fn spend(&self) -> Psbt {
        psbt(
            &[(self.p2wpkh(), 150_000), (self.p2tr(), 1_000_000)],
            &[(foreign_script(7), 1_000_000), (self.p2tr(), 148_590)],
        )
    }

    /// A PSBT that pays most of one P2WPKH input of this key to a foreign key.
    fn small_psbt(&self) -> Psbt {
        psbt(&[(self.p2wpkh(), 50_000)], &[(foreign_script(3), 49_000)])
    }

    /// The ceremony transcript, as text.
    fn transcript(&self) -> String {
        std::fs::read_to_string(self.dir().join("transcript.jsonl")).unwrap()
    }

    /// The transcript's last entry: the last run's record.
    fn last_record(&self) -> Value {
        serde_json::from_str(self.transcript().lines().last().unwrap()).unwrap()
    }

    /// The snapshot runs: `sign` in the folder, with the files' own names and `FLAG INPUT
    /// --yes` plus `extra`.
    fn args<'a>(flag: &'a str, input: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "sign",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            flag,
            input,
            "--yes",
        ];
        args.extend_from_slice(extra);
        args
    }

    /// Standard error of a snapshot run (exit code first): the operator's screen.
    fn screen(&self, flag: &str, input: &str, extra: &[&str]) -> String {
        crate::snapshots::stderr_of(&Export::args(flag, input, extra), self.dir())
    }

    /// Standard output of a snapshot run with `--json`, then its transcript entry without
    /// what changes from run to run (time, build, chain, absolute paths).
    fn json_and_record(&self, flag: &str, input: &str, extra: &[&str]) -> String {
        let mut args = Export::args(flag, input, extra);
        args.push("--json");
        let output = offline()
            .current_dir(self.dir())
            .args(&args)
            .output()
            .unwrap();
        success(&output);
        let mut entry = self.last_record();
        let fields = entry.as_object_mut().unwrap();
        for varying in ["time", "build", "toolVersion", "seq", "prev", "artifacts"] {
            fields.remove(varying);
        }
        format!(
            "{}\n{}\n",
            String::from_utf8(output.stdout).unwrap().trim_end(),
            serde_json::to_string_pretty(&entry).unwrap()
        )
    }
}

/// Checks that every line of `text` fits an 80-column terminal.
fn fits_80_columns(text: &str) {
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

/// Checks that `output` is a success and returns its `--json` object.
fn success(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(output)
}

/// Checks that `output` is a refusal of the input (exit 3) that says `why`, with nothing on
/// standard output and no panic.
fn refused(output: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{why:?}: {stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains(why), "{why:?} not in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// [`refused`], before the key was rebuilt.
fn refused_before_the_key(output: &Output, why: &str) {
    refused(output, why);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Verified     the rebuilt key"), "{stderr}");
}

/// The signed PSBT of a `--json` object.
fn signed_psbt(json: &Value) -> Vec<u8> {
    B64.decode(json["signedPsbt"].as_str().unwrap()).unwrap()
}

/// The raw signed Ethereum transaction of a `--json` object.
fn signed_eth_tx(json: &Value) -> Vec<u8> {
    let text = json["signedTransaction"].as_str().unwrap();
    hex::decode(text.strip_prefix("0x").unwrap()).unwrap()
}

/// The UR frames of a `--json` object's `field`.
fn json_frames(json: &Value, field: &str) -> Vec<String> {
    json[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

/// The Ethereum address (lower case) of the key that made the recoverable signature
/// `rs ‖ id` of `digest`, recovered with libsecp256k1.
fn recovered_eth_address(digest: [u8; 32], rs: &[u8], id: u64) -> String {
    use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use sha3::{Digest, Keccak256};
    let id = RecoveryId::from_i32(i32::try_from(id).unwrap()).unwrap();
    let signature = RecoverableSignature::from_compact(rs, id).unwrap();
    let recovered = Secp256k1::new()
        .recover_ecdsa(&Message::from_digest(digest), &signature)
        .unwrap();
    let hash = Keccak256::digest(&recovered.serialize_uncompressed()[1..]);
    format!("0x{}", hex::encode(&hash[12..]))
}

/// A foreign P2WPKH script (a key that is not the export's).
fn foreign_script(seed: u8) -> ScriptBuf {
    let secp = Secp256k1::new();
    let secret = SecretKey::from_slice(&[seed; 32]).unwrap();
    let public = CompressedPublicKey(secret.public_key(&secp));
    ScriptBuf::new_p2wpkh(&public.wpubkey_hash())
}

/// An unsigned PSBT spending `inputs` (script, amount) to `outputs` (script, amount).
fn psbt(inputs: &[(ScriptBuf, u64)], outputs: &[(ScriptBuf, u64)]) -> Psbt {
    let tx = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: (0..inputs.len())
            .map(|i| TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([u8::try_from(i).unwrap() + 1; 32]),
                    vout: u32::try_from(i).unwrap(),
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: outputs
            .iter()
            .map(|(script, sats)| TxOut {
                value: Amount::from_sat(*sats),
                script_pubkey: script.clone(),
            })
            .collect(),
    };
    let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
    for (input, (script, sats)) in psbt.inputs.iter_mut().zip(inputs) {
        input.witness_utxo = Some(TxOut {
            value: Amount::from_sat(*sats),
            script_pubkey: script.clone(),
        });
    }
    psbt
}

/// Finalizes every input of `export` in `signed` with the `bitcoin` crate (P2WPKH witness,
/// Taproot key-path witness), verifies each signature with libsecp256k1 over the sighash the
/// `bitcoin` crate computes, and returns the extracted transaction.
fn finalize_and_verify(export: &Export, mut signed: Psbt) -> Transaction {
    let secp = Secp256k1::new();
    let prevouts: Vec<TxOut> = signed
        .inputs
        .iter()
        .map(|i| i.witness_utxo.clone().unwrap())
        .collect();
    let unsigned = signed.unsigned_tx.clone();
    let mut cache = SighashCache::new(&unsigned);
    for (index, input) in signed.inputs.iter_mut().enumerate() {
        let spent = &prevouts[index];
        if spent.script_pubkey == export.p2wpkh() {
            let public = bitcoin::PublicKey::new(export.compressed().0);
            let signature = *input
                .partial_sigs
                .get(&public)
                .expect("a partial signature");
            assert_eq!(signature.sighash_type, EcdsaSighashType::All);
            let sighash = cache
                .p2wpkh_signature_hash(
                    index,
                    &spent.script_pubkey,
                    spent.value,
                    EcdsaSighashType::All,
                )
                .unwrap();
            let message = Message::from_digest(sighash.to_byte_array());
            secp.verify_ecdsa(&message, &signature.signature, &public.inner)
                .unwrap();
            // libsecp256k1's own RFC 6979 signature with the same key is the same one.
            assert_eq!(
                secp.sign_ecdsa(&message, &export.secret()),
                signature.signature
            );
            input.final_script_witness = Some(Witness::p2wpkh(&signature, &public.inner));
            input.partial_sigs.clear();
        } else if spent.script_pubkey == export.p2tr() {
            let signature = input.tap_key_sig.expect("a key-path signature");
            assert_eq!(input.tap_internal_key, Some(export.internal()));
            let sighash = cache
                .taproot_key_spend_signature_hash(
                    index,
                    &Prevouts::All(&prevouts),
                    signature.sighash_type,
                )
                .unwrap();
            let (output_key, _) = export.internal().tap_tweak(&secp, None);
            secp.verify_schnorr(
                &signature.signature,
                &Message::from_digest(sighash.to_byte_array()),
                &output_key.to_x_only_public_key(),
            )
            .unwrap();
            input.final_script_witness = Some(Witness::p2tr_key_spend(&signature));
            input.tap_key_sig = None;
        } else {
            assert!(input.partial_sigs.is_empty() && input.tap_key_sig.is_none());
        }
    }
    signed.extract_tx_unchecked_fee_rate()
}

#[test]
fn a_mainnet_psbt_of_p2wpkh_and_p2tr_inputs_signs_and_verifies_with_libsecp256k1() {
    let export = Export::secp256k1();
    let payee = foreign_script(7);
    let unsigned = export.spend();
    let text = B64.encode(unsigned.serialize());
    let json = success(&export.sign(&text, &["--yes", "--json"]));
    assert_eq!(json["mode"], "checked");
    assert_eq!(json["format"], "bitcoin-psbt");
    let summary = &json["psbt"];
    assert_eq!(summary["network"], "mainnet");
    assert_eq!(summary["feeSat"], 1_410);
    assert_eq!(summary["inputTotalSat"], 1_150_000);
    assert_eq!(summary["inputs"][0]["ours"], "p2wpkh");
    assert_eq!(summary["inputs"][1]["ours"], "p2tr");
    assert_eq!(summary["outputs"][0]["change"], false);
    assert_eq!(summary["outputs"][1]["change"], true);
    let payee_address = bitcoin::Address::from_script(&payee, bitcoin::Network::Bitcoin).unwrap();
    assert_eq!(summary["outputs"][0]["address"], payee_address.to_string());
    assert!(
        summary["outputs"][1]["address"]
            .as_str()
            .unwrap()
            .starts_with("bc1p")
    );
    // The P2WPKH input's amount comes from witness_utxo alone: the SegWit fee attack
    // needs a second signing session, which the operator is told not to allow.
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{summary}");
    assert!(warnings[0].as_str().unwrap().contains("SegWit fee attack"));

    let signed = Psbt::deserialize(&signed_psbt(&json)).unwrap();
    assert_eq!(signed.unsigned_tx, unsigned.unsigned_tx);
    let tx = finalize_and_verify(&export, signed);
    assert!(tx.input.iter().all(|i| !i.witness.is_empty()));
    // The estimate is the real size (the DER signature may be a byte shorter than counted).
    let estimated = summary["estimatedVsize"].as_u64().unwrap();
    let real = tx.vsize() as u64;
    assert!(
        estimated >= real && estimated <= real + 1,
        "{estimated} vs {real}"
    );

    // Text output: the signed PSBT in base64, the same bytes (signing is deterministic).
    let output = export.sign(&text, &["--yes"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        json["signedPsbt"].as_str().unwrap()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("change: pays this key back"), "{stderr}");
    assert!(stderr.contains(&payee_address.to_string()), "{stderr}");
    // The summary fits 80 columns (the warning box above it names a temporary path).
    fits_80_columns(&stderr[stderr.find("PSBT ").unwrap()..]);

    // The transcript records a checked signature per input, with its sighash.
    let last = export.last_record();
    assert_eq!(last["signing"]["mode"], "checked");
    assert_eq!(last["signing"]["format"], "bitcoin-psbt");
    assert_eq!(last["signing"]["signatures"].as_array().unwrap().len(), 2);
    assert!(!export.transcript().contains(export.private_key()));
}

#[test]
fn a_testnet_psbt_file_signs_and_the_signed_file_is_written() {
    let export = Export::secp256k1();
    let foreign = foreign_script(9);
    let unsigned = psbt(
        &[(export.p2tr(), 80_000), (foreign.clone(), 10_000)],
        &[(foreign_script(8), 89_000)],
    );
    let file = export.write("unsigned.psbt", &unsigned.serialize());
    let out = export.dir().join("signed.psbt");
    let json = success(&export.sign(
        s(&file),
        &["--yes", "--json", "--network", "testnet", "--out", s(&out)],
    ));
    let summary = &json["psbt"];
    assert_eq!(summary["network"], "testnet");
    assert!(
        summary["outputs"][0]["address"]
            .as_str()
            .unwrap()
            .starts_with("tb1q")
    );
    assert!(summary["inputs"][1].get("ours").is_none());
    assert!(
        summary["warnings"][0]
            .as_str()
            .unwrap()
            .contains("input 1 is not this key's"),
        "{summary}"
    );
    let written = std::fs::read(&out).unwrap();
    assert_eq!(B64.encode(&written), json["signedPsbt"].as_str().unwrap());
    let signed = Psbt::deserialize(&written).unwrap();
    // The foreign input is left alone; ours finalizes and verifies.
    finalize_and_verify(&export, signed);

    // Never over an existing file, refused before anything is signed.
    let again = export.sign(s(&file), &["--yes", "--out", s(&out)]);
    assert_eq!(again.status.code(), Some(6));
    assert!(again.stdout.is_empty());
}

#[test]
fn hostile_psbts_are_refused_or_warned_about() {
    let export = Export::secp256k1();
    let refuse = |psbt: &Psbt, why: &str| refused(&export.sign_psbt(psbt, &["--yes"]), why);
    // An input without its UTXO: the amount and the fee cannot be checked.
    let mut no_amount = export.small_psbt();
    no_amount.inputs[0].witness_utxo = None;
    refuse(&no_amount, "does not say what it spends");
    // A non_witness_utxo that is not the transaction the input spends.
    let mut other_tx = export.small_psbt();
    other_tx.inputs[0].non_witness_utxo = Some(other_tx.unsigned_tx.clone());
    refuse(&other_tx, "its non_witness_utxo is transaction");
    // Outputs above the inputs.
    refuse(
        &psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 60_000)]),
        "the inputs hold only",
    );
    // No input of this key.
    refuse(
        &psbt(
            &[(foreign_script(4), 50_000)],
            &[(foreign_script(3), 49_000)],
        ),
        "nothing to sign",
    );
    // A sighash type that lets others change the transaction, P2WPKH and P2TR.
    let mut single = export.small_psbt();
    single.inputs[0].sighash_type = Some(EcdsaSighashType::SinglePlusAnyoneCanPay.into());
    refuse(&single, "not ALL");
    let mut single = psbt(&[(export.p2tr(), 50_000)], &[(foreign_script(3), 49_000)]);
    single.inputs[0].sighash_type = Some(TapSighashType::Single.into());
    refuse(&single, "not DEFAULT or ALL");
    // Not a PSBT at all.
    refused(
        &export.sign("bm90IGEgcHNidA==", &["--yes"]),
        "not a valid PSBT",
    );

    // A fee above half the inputs, and a "change" output that pays a foreign key: signed
    // with --yes, but loudly warned about.
    let mut greedy = psbt(
        &[(export.p2wpkh(), 100_000)],
        &[(foreign_script(3), 10_000), (foreign_script(5), 20_000)],
    );
    greedy.outputs[1].bip32_derivation.insert(
        bitcoin::secp256k1::PublicKey::from_slice(&export.compressed().to_bytes()).unwrap(),
        (
            bitcoin::bip32::Fingerprint::from([1, 2, 3, 4]),
            "m/84'/0'/0'/1/0".parse().unwrap(),
        ),
    );
    let output = export.sign_psbt(&greedy, &["--yes"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        crate::common::shows(&stderr, "MORE THAN HALF GOES TO THE MINER"),
        "{stderr}"
    );
    assert!(
        stderr.contains("output 1 is marked as change (it carries key origins) but does not pay"),
        "{stderr}"
    );

    // Without --yes and without a terminal, nothing is signed.
    let output = export.sign_psbt(&export.small_psbt(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no terminal to confirm"), "{stderr}");
    // The refusal is recorded, without any signature.
    let last = export.last_record();
    assert_eq!(last["outcome"]["status"], "failed");
    assert!(last.get("signing").is_none());
}

#[test]
fn a_bare_digest_needs_blind_and_is_recorded_as_blind() {
    let export = Export::secp256k1();
    let digest = "9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658";
    let sign = |extra: &[&str]| {
        export
            .sign_command()
            .args(["--scheme", "ecdsa-secp256k1", "--message-hex", digest])
            .args(extra)
            .output()
            .unwrap()
    };
    // Without --blind: refused before any key is opened.
    let output = sign(&["--yes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("signed blind") && stderr.contains("--psbt"),
        "{stderr}"
    );
    assert!(!stderr.contains("Verified"), "{stderr}");
    // --blind without --yes and without a terminal: the digest is shown, nothing is signed.
    let output = sign(&["--blind"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no terminal to confirm"));
    // --blind --yes: signed, with the warning, and recorded as blind with the digest.
    let output = sign(&["--blind", "--yes"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BLIND SIGNING"), "{stderr}");
    let last = export.last_record();
    assert_eq!(last["signing"]["mode"], "blind");
    assert_eq!(last["signing"]["signatures"][0]["signedDigest"], digest);
    assert!(last["signing"].get("format").is_none());
    // --blind does not go with a transaction.
    let output = export.sign("cHNidP8=", &["--blind", "--yes"]);
    assert_eq!(output.status.code(), Some(2));
}

/// The operator's screen for the reference spend, on testnet.
#[test]
fn psbt_summary_snapshot() {
    let export = Export::secp256k1();
    export.write("spend.psbt", &export.spend().serialize());
    let text = export.screen("--psbt", "spend.psbt", &["--network", "testnet"]);
    insta::assert_snapshot!(text);
}

/// The three transaction types built with the `rlp` crate (not the binary's alloy-rlp):
/// (type byte, the fields before the signature, as an RLP stream's items).
mod eth {
    use rlp::RlpStream;

    pub const TOKEN: [u8; 20] = [0xa0; 20];
    pub const PAYEE: [u8; 20] = [0x35; 20];

    /// ERC-20 `transfer(PAYEE, 1_000_000)` call data.
    pub fn erc20_transfer() -> Vec<u8> {
        let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
        data.extend_from_slice(&[0; 12]);
        data.extend_from_slice(&PAYEE);
        let mut amount = [0u8; 32];
        amount[29..].copy_from_slice(&[0x0f, 0x42, 0x40]);
        data.extend_from_slice(&amount);
        data
    }

    /// Appends the fields common to every type after the fee fields: gas, to, value, data.
    fn body(s: &mut RlpStream, to: &[u8; 20], value: u128, data: &[u8]) {
        s.append(&60_000u64);
        s.append(&to.as_slice());
        s.append(&value);
        s.append(&data);
    }

    /// The unsigned transaction of `kind` (0 legacy EIP-155, 1, 2) for chain `chain`.
    pub fn unsigned(kind: u8, chain: u64, to: &[u8; 20], value: u128, data: &[u8]) -> Vec<u8> {
        let mut s = RlpStream::new();
        match kind {
            0 => {
                s.begin_list(9);
                s.append(&7u64);
                s.append(&20_000_000_000u128);
                body(&mut s, to, value, data);
                s.append(&chain);
                s.append(&0u8);
                s.append(&0u8);
            }
            1 => {
                s.begin_list(8);
                s.append(&chain);
                s.append(&7u64);
                s.append(&20_000_000_000u128);
                body(&mut s, to, value, data);
                s.begin_list(0);
            }
            _ => {
                s.begin_list(9);
                s.append(&chain);
                s.append(&7u64);
                s.append(&1_500_000_000u128);
                s.append(&30_000_000_000u128);
                body(&mut s, to, value, data);
                s.begin_list(0);
            }
        }
        let mut out = if kind == 0 { vec![] } else { vec![kind] };
        out.extend_from_slice(&s.out());
        out
    }

    /// From a raw signed transaction: the digest its signature covers (re-encoded with the
    /// `rlp` crate), r ‖ s, the recovery id, and the unsigned fields as items.
    pub fn signing_parts(raw: &[u8], chain: u64) -> ([u8; 32], [u8; 64], u64) {
        use sha3::{Digest, Keccak256};
        let (kind, body) = match raw[0] {
            1 | 2 => (raw[0], &raw[1..]),
            _ => (0, raw),
        };
        let list = rlp::Rlp::new(body);
        let count = list.item_count().unwrap();
        let fields = count - 3;
        let mut unsigned = RlpStream::new();
        unsigned.begin_list(if kind == 0 { fields + 3 } else { fields });
        for i in 0..fields {
            unsigned.append_raw(list.at(i).unwrap().as_raw(), 1);
        }
        let v: u64 = list.val_at(fields).unwrap();
        let id = if kind == 0 {
            unsigned.append(&chain);
            unsigned.append(&0u8);
            unsigned.append(&0u8);
            v - 35 - 2 * chain
        } else {
            v
        };
        let mut encoded = if kind == 0 { vec![] } else { vec![kind] };
        encoded.extend_from_slice(&unsigned.out());
        let mut rs = [0u8; 64];
        for (half, index) in [(0, fields + 1), (32, fields + 2)] {
            let bytes = list.at(index).unwrap().data().unwrap().to_vec();
            rs[half + 32 - bytes.len()..half + 32].copy_from_slice(&bytes);
        }
        (Keccak256::digest(&encoded).into(), rs, id)
    }
}

#[test]
fn ethereum_transactions_of_every_type_recover_to_the_address_reconstruct_shows() {
    use sha3::{Digest, Keccak256};
    let export = Export::secp256k1();
    let address = export.shown_eth_address();
    for kind in [0u8, 1, 2] {
        for erc20 in [false, true] {
            let chain = if kind == 1 { 11_155_111 } else { 1 };
            let (to, value, data) = if erc20 {
                (eth::TOKEN, 0, eth::erc20_transfer())
            } else {
                (eth::PAYEE, 1_500_000_000_000_000_000, vec![])
            };
            let unsigned = eth::unsigned(kind, chain, &to, value, &data);
            let json = success(&export.sign_tx(
                "--eth-tx",
                &format!("0x{}", hex::encode(&unsigned)),
                &["--chain-id", &chain.to_string(), "--yes", "--json"],
            ));
            let summary = &json["ethereum"];
            assert_eq!(summary["chainId"], chain);
            assert_eq!(summary["nonce"], 7);
            assert_eq!(summary["dataLength"], data.len());
            if erc20 {
                assert_eq!(summary["erc20"]["function"], "transfer");
                assert_eq!(summary["erc20"]["amount"], "1000000");
                assert_eq!(
                    summary["erc20"]["to"].as_str().unwrap().to_lowercase(),
                    format!("0x{}", hex::encode(eth::PAYEE))
                );
            } else {
                assert_eq!(summary["valueWei"], "1500000000000000000");
                assert!(summary.get("erc20").is_none());
            }
            let (digest, rs, id) = eth::signing_parts(&signed_eth_tx(&json), chain);
            assert_eq!(
                hex::encode(digest),
                summary["signingHash"].as_str().unwrap()
            );
            assert_eq!(digest, <[u8; 32]>::from(Keccak256::digest(&unsigned)));
            assert_eq!(
                recovered_eth_address(digest, &rs, id),
                address,
                "type {kind}, erc20 {erc20}"
            );
        }
    }
}

#[test]
fn hostile_ethereum_transactions_are_refused() {
    let export = Export::secp256k1();
    let sign = |tx: &[u8], extra: &[&str]| {
        let mut extra = extra.to_vec();
        extra.push("--yes");
        export.sign_tx("--eth-tx", &hex::encode(tx), &extra)
    };
    let refuse = |output: Output, why: &str| refused_before_the_key(&output, why);
    let good = eth::unsigned(2, 1, &eth::PAYEE, 1, &[]);
    let mut trailing = good.clone();
    trailing.push(0x80);
    refuse(sign(&trailing, &[]), "follow the transaction");
    refuse(
        sign(&good, &["--chain-id", "137"]),
        "chain id 1 (Ethereum mainnet), but --chain-id 137",
    );
    // Legacy without a chain id (pre-EIP-155): replayable on every chain.
    let mut s = rlp::RlpStream::new_list(6);
    s.append(&0u64);
    s.append(&1u64);
    s.append(&21_000u64);
    s.append(&eth::PAYEE.as_slice());
    s.append(&1u64);
    s.append(&Vec::<u8>::new());
    refuse(sign(&s.out(), &[]), "before EIP-155");
    refuse(sign(&[0x04, 0xc0], &[]), "type 0x04");
    refuse(
        sign(&[0x02, 0xc3, 0x01, 0x02], &[]),
        "not a valid unsigned transaction",
    );
}

/// The reference ERC-20 transfer: EIP-1559, chain 1, `transfer(PAYEE, 1_000_000)`, as hex.
fn reference_erc20() -> Vec<u8> {
    let unsigned = eth::unsigned(2, 1, &eth::TOKEN, 0, &eth::erc20_transfer());
    format!("0x{}\n", hex::encode(unsigned)).into_bytes()
}

/// The operator's screen for the reference ERC-20 transfer signed with the reference export.
#[test]
fn ethereum_summary_snapshot() {
    let export = Export::secp256k1();
    export.write("tx.hex", &reference_erc20());
    let text = export.screen("--eth-tx", "tx.hex", &["--chain-id", "1"]);
    fits_80_columns(&text);
    insta::assert_snapshot!(text);
}

/// Solana messages in their wire format, written out here byte by byte.
mod solana {
    pub const SYSTEM: [u8; 32] = [0; 32];

    pub fn program(name: &str) -> [u8; 32] {
        bs58::decode(name).into_vec().unwrap().try_into().unwrap()
    }

    /// One instruction: program index, account indexes, data (lengths below 128).
    pub struct Ix(pub u8, pub Vec<u8>, pub Vec<u8>);

    /// A message: `v0` prefix or legacy, header, keys, blockhash, instructions, and (v0)
    /// one lookup table with `writable` indexes.
    pub fn message(
        v0: bool,
        header: [u8; 3],
        keys: &[[u8; 32]],
        instructions: &[Ix],
        lookup: Option<([u8; 32], Vec<u8>)>,
    ) -> Vec<u8> {
        let mut m = Vec::new();
        if v0 {
            m.push(0x80);
        }
        m.extend_from_slice(&header);
        m.push(u8::try_from(keys.len()).unwrap());
        for key in keys {
            m.extend_from_slice(key);
        }
        m.extend_from_slice(&[0x77; 32]);
        m.push(u8::try_from(instructions.len()).unwrap());
        for Ix(program, accounts, data) in instructions {
            m.push(*program);
            m.push(u8::try_from(accounts.len()).unwrap());
            m.extend_from_slice(accounts);
            m.push(u8::try_from(data.len()).unwrap());
            m.extend_from_slice(data);
        }
        if v0 {
            match lookup {
                Some((table, writable)) => {
                    m.push(1);
                    m.extend_from_slice(&table);
                    m.push(u8::try_from(writable.len()).unwrap());
                    m.extend_from_slice(&writable);
                    m.push(0);
                }
                None => m.push(0),
            }
        }
        m
    }
}

/// Checks with ed25519-dalek (`verify_strict`) that `signature` (the `--json` object's) is
/// the export's signature of `message`.
fn ed25519_verify(export: &Export, message: &[u8], json: &Value) -> Vec<u8> {
    use ed25519_dalek::{Signature, VerifyingKey};
    let signature = hex::decode(json["signature"].as_str().unwrap()).unwrap();
    VerifyingKey::from_bytes(&export.ed25519_key())
        .unwrap()
        .verify_strict(message, &Signature::from_slice(&signature).unwrap())
        .unwrap();
    signature
}

#[test]
fn a_solana_system_transfer_signs_and_verifies_with_ed25519_dalek() {
    let export = Export::ed25519();
    let ours = export.ed25519_key();
    let payee = [0x42; 32];
    let mut data = vec![2, 0, 0, 0];
    data.extend_from_slice(&1_500_000_000u64.to_le_bytes());
    let message = solana::message(
        false,
        [1, 0, 1],
        &[ours, payee, solana::SYSTEM],
        &[solana::Ix(2, vec![0, 1], data)],
        None,
    );
    let json = success(&export.sign_tx("--solana-tx", &B64.encode(&message), &["--yes", "--json"]));
    let summary = &json["solana"];
    assert_eq!(summary["version"], "legacy");
    assert_eq!(summary["feePayer"], bs58::encode(ours).into_string());
    assert_eq!(summary["signerIndex"], 0);
    let instruction = &summary["instructions"][0];
    assert_eq!(instruction["kind"], "system-transfer");
    assert_eq!(
        instruction["fields"][0][1],
        "1.500000000 SOL (1500000000 lamports)"
    );
    assert_eq!(
        instruction["fields"][2][1],
        bs58::encode(payee).into_string()
    );
    assert!(
        summary["warnings"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    let signature = ed25519_verify(&export, &message, &json);
    let transaction = B64
        .decode(json["signedTransaction"].as_str().unwrap())
        .unwrap();
    assert_eq!(transaction[0], 1);
    assert_eq!(&transaction[1..65], signature.as_slice());
    assert_eq!(&transaction[65..], message.as_slice());
    let last = export.last_record();
    assert_eq!(last["signing"]["format"], "solana-transaction");
}

#[test]
fn an_spl_transfer_in_a_v0_transaction_signs_and_unknown_programs_are_warned_about() {
    let export = Export::ed25519();
    let ours = export.ed25519_key();
    let (source, destination, mint) = ([0x11; 32], [0x22; 32], [0x33; 32]);
    let token = solana::program("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    let budget = solana::program("ComputeBudget111111111111111111111111111111");
    let unknown = [0x99; 32];
    let mut transfer = vec![12];
    transfer.extend_from_slice(&2_500_000u64.to_le_bytes());
    transfer.push(6);
    let mut price = vec![3];
    price.extend_from_slice(&1_000u64.to_le_bytes());
    let message = solana::message(
        true,
        [1, 0, 4],
        &[ours, source, destination, mint, token, budget, unknown],
        &[
            solana::Ix(5, vec![], price),
            solana::Ix(4, vec![1, 3, 2, 0], transfer),
            solana::Ix(6, vec![7, 0], vec![0xde, 0xad]),
        ],
        Some(([0x55; 32], vec![4])),
    );
    // An unsigned transaction (one empty signature slot), base58, in a file.
    let mut unsigned = vec![1];
    unsigned.extend_from_slice(&[0; 64]);
    unsigned.extend_from_slice(&message);
    let file = export.write("tx.b58", bs58::encode(&unsigned).into_string().as_bytes());
    let output = export.sign_tx("--solana-tx", s(&file), &["--yes", "--json"]);
    let json = success(&output);
    let summary = &json["solana"];
    assert_eq!(summary["version"], "v0");
    assert_eq!(summary["instructions"][0]["kind"], "compute-unit-price");
    let spl = &summary["instructions"][1];
    assert_eq!(spl["kind"], "spl-transfer-checked");
    assert_eq!(spl["fields"][0][1], "2500000 base units, 6 decimals");
    assert_eq!(spl["fields"][1][1], bs58::encode(mint).into_string());
    assert_eq!(spl["fields"][3][1], bs58::encode(destination).into_string());
    let raw = &summary["instructions"][2];
    assert!(raw.get("kind").is_none());
    assert_eq!(raw["data"], "dead");
    assert_eq!(
        raw["accounts"][0],
        format!("table {} #4", bs58::encode([0x55; 32]).into_string())
    );
    let warnings = summary["warnings"].to_string();
    assert!(
        warnings.contains("instruction 2") && warnings.contains("lookup tables"),
        "{warnings}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NOT DECODED"), "{stderr}");
    ed25519_verify(&export, &message, &json);

    // A message this key does not sign, bytes after a message, and not a message at all.
    let refuse = |text: &str, why: &str| {
        refused(&export.sign_tx("--solana-tx", text, &["--yes"]), why);
    };
    let foreign = solana::message(false, [1, 0, 1], &[[0x12; 32], solana::SYSTEM], &[], None);
    refuse(
        &B64.encode(&foreign),
        "is not one of the message's 1 signer(s)",
    );
    let mut trailing = message.clone();
    trailing.push(0);
    refuse(&B64.encode(&trailing), "not a valid Solana message");
    refuse("%%%", "neither base64 nor base58");
}

/// The reference Solana message: a System transfer from the reference ed25519 export's key
/// and an instruction of an unknown program, in base64.
fn reference_solana(export: &Export) -> Vec<u8> {
    let ours = export.ed25519_key();
    let mut data = vec![2, 0, 0, 0];
    data.extend_from_slice(&250_000_000u64.to_le_bytes());
    let message = solana::message(
        false,
        [1, 0, 2],
        &[ours, [0x42; 32], solana::SYSTEM, [0x99; 32]],
        &[
            solana::Ix(2, vec![0, 1], data),
            solana::Ix(3, vec![1], vec![1, 2, 3]),
        ],
        None,
    );
    B64.encode(&message).into_bytes()
}

/// The operator's screen for the reference Solana message, with its undecoded instruction.
#[test]
fn solana_summary_snapshot() {
    let export = Export::ed25519();
    export.write("message.b64", &reference_solana(&export));
    let text = export.screen("--solana-tx", "message.b64", &[]);
    // The summary fits 80 columns (reconstruct's ed25519 note above it is not this test's).
    fits_80_columns(&text[text.find("Transaction ").unwrap()..]);
    insta::assert_snapshot!(text);
}

/// What `--json` prints and the transcript records for each format and way in, signed
/// with the reference exports: the PSBT (its QR answer included), the Ethereum transaction
/// as hex (written to `--out`) and as a wallet's `eth-sign-request`, the Solana message.
#[test]
fn signed_json_snapshot() {
    let secp = Export::secp256k1();
    secp.write("spend.psbt", &secp.spend().serialize());
    secp.write("tx.hex", &reference_erc20());
    let request = wallet_qr::eth_sign_request(
        &[0x5a; 16],
        &eth::unsigned(0, 1, &eth::PAYEE, 1, &[]),
        1,
        1,
        &secp.eth_address(),
    );
    let request = wallet_qr::ur_text("eth-sign-request", &request);
    let ed = Export::ed25519();
    ed.write("message.b64", &reference_solana(&ed));
    let text = [
        secp.json_and_record("--psbt", "spend.psbt", &["--network", "testnet"]),
        secp.json_and_record("--eth-tx", "tx.hex", &["--out", "signed.hex"]),
        secp.json_and_record("--eth-tx", &request, &[]),
        ed.json_and_record("--solana-tx", "message.b64", &[]),
    ]
    .join("\n");
    insta::assert_snapshot!(text);
}

/// The typed confirmation at a terminal: `sign` signs, anything else signs nothing.
#[test]
fn at_a_terminal_the_operator_types_sign_to_sign() {
    let export = Export::secp256k1();
    let file = export.write("unsigned.psbt", &export.small_psbt().serialize());
    let args = [
        "sign",
        "--decryption-key",
        "decryption-key.hex",
        "--response",
        "response.json",
        "--psbt",
        s(&file),
    ];
    let answering = |answer| {
        in_terminal(
            export.dir(),
            &args,
            &[crate::screen::Step {
                wait_for: "Type `sign` to sign what is shown above",
                send: answer,
            }],
        )
    };
    let refused = answering("yes\n");
    assert_eq!(refused.code, 2, "{}", refused.raw_text());
    assert!(refused.raw_text().contains("nothing was signed"));
    assert!(
        !refused.raw_text().contains("cHNidP8"),
        "no PSBT is printed"
    );

    let signed = answering("sign\n");
    assert_eq!(signed.code, 0, "{}", signed.raw_text());
    let text = signed.raw_text();
    let line = text
        .lines()
        .find(|l| l.trim().starts_with("cHNidP8"))
        .expect("the signed PSBT in base64");
    let psbt = Psbt::deserialize(&B64.decode(line.trim()).unwrap()).unwrap();
    finalize_and_verify(&export, psbt);
}

/// `keyexport-offline ARGS` in `dir`, in an 80×24 terminal, `steps` typed.
fn in_terminal(dir: &Path, args: &[&str], steps: &[crate::screen::Step<'_>]) -> crate::screen::Run {
    let bin = assert_cmd::cargo::cargo_bin("keyexport-offline");
    let env = [("KEYEXPORT_ALLOW_ONLINE", "1")];
    crate::screen::run(&bin, args, &env, dir, (80, 24), steps)
}

/// Wallets' QR codes made and read here independently of keyexport-shared's transport: the
/// `ur` crate's fountain encoder and decoder, minicbor for the CBOR, qrcode to draw the
/// codes and rqrr (another QR reader than the binary's rxing) to scan the answers.
mod wallet_qr {
    use minicbor::data::Tag;

    /// A QR code of `text` (uppercase: alphanumeric mode, as wallets draw URs) as a PNG.
    pub fn png(text: &str) -> Vec<u8> {
        let code = qrcode::QrCode::with_error_correction_level(
            text.to_ascii_uppercase().as_bytes(),
            qrcode::EcLevel::M,
        )
        .unwrap();
        let img = code
            .render::<image::Luma<u8>>()
            .quiet_zone(true)
            .module_dimensions(4, 4)
            .build();
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    /// The texts of the QR codes in a PNG, read with rqrr.
    pub fn scan(png: &[u8]) -> Vec<String> {
        let img = image::load_from_memory(png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        prepared
            .detect_grids()
            .into_iter()
            .map(|grid| grid.decode().unwrap().1)
            .collect()
    }

    /// `cbor` as one single-part UR frame of type `ur_type`, as text.
    pub fn ur_text(ur_type: &str, cbor: &[u8]) -> String {
        ur::ur::encode(cbor, &ur::Type::Custom(ur_type))
    }

    /// `cbor` as one single-part UR frame of type `ur_type`, drawn as a QR code (PNG).
    pub fn ur_png(ur_type: &str, cbor: &[u8]) -> Vec<u8> {
        png(&ur_text(ur_type, cbor))
    }

    /// CBOR byte string of `bytes`.
    pub fn byte_string(bytes: &[u8]) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.bytes(bytes).unwrap();
        e.into_writer()
    }

    /// `count` fountain parts of `cbor` as UR `ur_type`, `fragment` bytes each.
    pub fn parts(ur_type: &str, cbor: &[u8], fragment: usize, count: usize) -> Vec<String> {
        let mut encoder = ur::Encoder::new(cbor, fragment, ur_type).unwrap();
        (0..count).map(|_| encoder.next_part().unwrap()).collect()
    }

    /// The minimal number of parts of `cbor` at `fragment` bytes.
    pub fn part_count(cbor: &[u8], fragment: usize) -> usize {
        ur::Encoder::new(cbor, fragment, "x")
            .unwrap()
            .fragment_count()
    }

    /// The message of frames (single- or multi-part), decoded with the `ur` crate, and its
    /// type.
    pub fn decode(frames: &[String]) -> (String, Vec<u8>) {
        let first = frames[0].to_ascii_lowercase();
        let ur_type = first[3..first[3..].find('/').unwrap() + 3].to_owned();
        if frames.len() == 1 && first.matches('/').count() == 1 {
            return (ur_type, ur::ur::decode(&first).unwrap().1);
        }
        let mut decoder = ur::Decoder::default();
        for frame in frames {
            decoder.receive(&frame.to_ascii_lowercase()).unwrap();
        }
        assert!(decoder.complete());
        (ur_type, decoder.message().unwrap().unwrap())
    }

    /// An `eth-sign-request` as Keystone's registry encodes it (EIP-4527): request id,
    /// sign data, data type, chain id, key path m/44'/60'/0'/0/0 from fingerprint
    /// 0x12345678, address, origin.
    pub fn eth_sign_request(
        id: &[u8; 16],
        sign_data: &[u8],
        data_type: u8,
        chain: u64,
        address: &[u8],
    ) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.map(7).unwrap();
        e.u8(1)
            .unwrap()
            .tag(Tag::new(37))
            .unwrap()
            .bytes(id)
            .unwrap();
        e.u8(2).unwrap().bytes(sign_data).unwrap();
        e.u8(3).unwrap().u8(data_type).unwrap();
        e.u8(4).unwrap().u64(chain).unwrap();
        e.u8(5).unwrap().tag(Tag::new(304)).unwrap().map(2).unwrap();
        e.u8(1).unwrap().array(10).unwrap();
        for (index, hardened) in [(44, true), (60, true), (0, true), (0, false), (0, false)] {
            e.u32(index).unwrap().bool(hardened).unwrap();
        }
        e.u8(2).unwrap().u32(0x1234_5678).unwrap();
        e.u8(6).unwrap().bytes(address).unwrap();
        e.u8(7).unwrap().str("MetaMask").unwrap();
        e.into_writer()
    }

    /// An `eth-signature`: (request id, signature).
    pub fn eth_signature(cbor: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut d = minicbor::Decoder::new(cbor);
        assert_eq!(d.map().unwrap(), Some(2));
        assert_eq!(d.u8().unwrap(), 1);
        assert_eq!(d.tag().unwrap(), Tag::new(37));
        let id = d.bytes().unwrap().to_vec();
        assert_eq!(d.u8().unwrap(), 2);
        let signature = d.bytes().unwrap().to_vec();
        assert_eq!(d.position(), cbor.len());
        (id, signature)
    }
}

/// A PSBT of several inputs, large enough to need an animated (multi-part) QR code.
fn large_psbt(export: &Export) -> Psbt {
    let inputs: Vec<(ScriptBuf, u64)> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                (export.p2wpkh(), 40_000 + i)
            } else {
                (export.p2tr(), 50_000 + i)
            }
        })
        .collect();
    psbt(
        &inputs,
        &[(foreign_script(9), 200_000), (export.p2wpkh(), 68_000)],
    )
}

#[test]
fn an_animated_crypto_psbt_from_qr_images_out_of_order_with_repeats_signs_and_scans_back() {
    let export = Export::secp256k1();
    let unsigned = large_psbt(&export);
    let cbor = wallet_qr::byte_string(&unsigned.serialize());
    let count = wallet_qr::part_count(&cbor, 120);
    assert!(count >= 4, "{count} parts");
    // The pure parts minus the second one, then fountain-mixed parts: the mixed ones
    // replace the missing one, as when a camera misses a frame of a loop.
    let parts = wallet_qr::parts("crypto-psbt", &cbor, 120, count * 3);
    let frames = export.dir().join("sparrow-frames");
    std::fs::create_dir(&frames).unwrap();
    let mut order: Vec<usize> = (0..parts.len()).filter(|&i| i != 1).collect();
    order.reverse();
    order.push(order[0]);
    order.push(order[3]);
    for (n, &i) in order.iter().enumerate() {
        std::fs::write(
            frames.join(format!("frame-{n:02}.png")),
            wallet_qr::png(&parts[i]),
        )
        .unwrap();
    }
    let out = export.dir().join("answer");
    let output = export.sign(s(&frames), &["--yes", "--json", "--ur-out", s(&out)]);
    let json = success(&output);
    let signed = Psbt::deserialize(&signed_psbt(&json)).unwrap();
    assert_eq!(signed.unsigned_tx, unsigned.unsigned_tx);
    finalize_and_verify(&export, signed);
    assert_eq!(json["psbt"]["inputs"].as_array().unwrap().len(), 6);
    // The summary and what was written fit 80 columns (the folder's own path aside).
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = &stderr[stderr.find("PSBT ").unwrap()..];
    assert!(
        summary.starts_with("PSBT         crypto-psbt QR code (mainnet"),
        "{summary}"
    );
    fits_80_columns(&summary.replace(&export.dir().display().to_string(), ""));
    assert!(
        summary.contains("keyexport-offline show crypto-psbt.txt"),
        "{summary}"
    );

    // The answer scans back (rqrr) and decodes (ur crate) to the same signed PSBT.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names[0], "crypto-psbt-01.png");
    assert_eq!(names.last().unwrap(), "crypto-psbt.txt");
    let scanned: Vec<String> = names
        .iter()
        .filter(|n| n.ends_with(".png"))
        .flat_map(|n| wallet_qr::scan(&std::fs::read(out.join(n)).unwrap()))
        .collect();
    assert!(scanned.len() > 1, "the signed PSBT is animated");
    let (ur_type, message) = wallet_qr::decode(&scanned);
    assert_eq!(ur_type, "crypto-psbt");
    assert_eq!(message, wallet_qr::byte_string(&signed_psbt(&json)));
    // The text file and --json hold the same frames as the PNGs.
    let text = std::fs::read_to_string(out.join("crypto-psbt.txt")).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), scanned);
    assert_eq!(json_frames(&json, "signedPsbtUr"), scanned);
    // The transcript records the frames read and written.
    let last = export.last_record();
    assert_eq!(last["signing"]["mode"], "checked");
    assert!(export.transcript().contains("crypto-psbt.txt"));
}

#[test]
fn crypto_psbt_frames_as_text_lines_standard_input_or_one_argument() {
    let export = Export::secp256k1();
    let unsigned = large_psbt(&export);
    let cbor = wallet_qr::byte_string(&unsigned.serialize());
    let count = wallet_qr::part_count(&cbor, 150);
    let parts = wallet_qr::parts("crypto-psbt", &cbor, 150, count + 2);
    let expected = success(&export.sign_psbt(&unsigned, &["--yes", "--json"]));

    // A text file as a USB scanner types it: out of order, a repeat, blank lines, any case.
    let mut lines: Vec<String> = parts.iter().rev().cloned().collect();
    lines.insert(2, parts[0].to_ascii_uppercase());
    let file = export.write(
        "frames.txt",
        format!("\n{}\n\n", lines.join("\n")).as_bytes(),
    );
    let json = success(&export.sign(s(&file), &["--yes", "--json"]));
    assert_eq!(json["signedPsbt"], expected["signedPsbt"]);

    // The same lines on standard input (`-`), read until the set is complete.
    let output = export
        .sign_command()
        .args(["--psbt", "-", "--yes", "--json"])
        .write_stdin(lines.join("\n"))
        .output()
        .unwrap();
    assert_eq!(success(&output)["signedPsbt"], expected["signedPsbt"]);

    // A small PSBT in one single-part frame given as the argument, in the newer `psbt`
    // type: the answer keeps the wallet's type.
    let frame = wallet_qr::ur_text(
        "psbt",
        &wallet_qr::byte_string(&export.small_psbt().serialize()),
    );
    let json = success(&export.sign(&frame, &["--yes", "--json"]));
    let (ur_type, message) = wallet_qr::decode(&json_frames(&json, "signedPsbtUr"));
    assert_eq!(ur_type, "psbt");
    assert_eq!(message, wallet_qr::byte_string(&signed_psbt(&json)));
}

#[test]
fn foreign_malformed_truncated_and_incomplete_urs_are_refused() {
    let export = Export::secp256k1();
    let refuse =
        |input: &str, why: &str| refused_before_the_key(&export.sign(input, &["--yes"]), why);
    let good = export.small_psbt();
    let psbt_cbor = wallet_qr::byte_string(&good.serialize());

    // This tool's own `bytes` frames, and a wallet's Ethereum request, are not PSBTs.
    refuse(
        &ur::ur::encode(&psbt_cbor, &ur::Type::Bytes),
        "UR of type `bytes` received, expected `crypto-psbt` or `psbt`",
    );
    let request = wallet_qr::eth_sign_request(&[1; 16], &[0xc0], 1, 1, &[0; 20]);
    let png = export.write("eth.png", &wallet_qr::ur_png("eth-sign-request", &request));
    refuse(s(&png), "UR of type `eth-sign-request` received");
    // A crypto-psbt whose CBOR is a map, whose byte string is cut short, or whose bytes
    // are not a PSBT.
    refuse(
        &wallet_qr::ur_text("crypto-psbt", &[0xa1, 0x01, 0x02]),
        "not a canonical CBOR byte string",
    );
    refuse(
        &wallet_qr::ur_text("crypto-psbt", &psbt_cbor[..psbt_cbor.len() - 10]),
        "not a canonical CBOR byte string",
    );
    refuse(
        &wallet_qr::ur_text("crypto-psbt", &wallet_qr::byte_string(b"hello, wallet")),
        "holds no binary PSBT",
    );
    // A frame whose bytewords checksum fails (one word changed).
    let mut damaged = wallet_qr::ur_text("crypto-psbt", &psbt_cbor);
    let at = damaged.len() / 2;
    let replacement = if &damaged[at..at + 2] == "ae" {
        "ad"
    } else {
        "ae"
    };
    damaged.replace_range(at..at + 2, replacement);
    refuse(&damaged, "malformed");

    // A multi-part PSBT with a frame missing and no mixed frame to replace it.
    let large = wallet_qr::byte_string(&large_psbt(&export).serialize());
    let count = wallet_qr::part_count(&large, 120);
    let parts = wallet_qr::parts("crypto-psbt", &large, 120, count);
    let file = export.write("incomplete.txt", parts[1..].join("\n").as_bytes());
    refuse(s(&file), "the frames are incomplete");
    // Frames of two different PSBTs.
    let other = wallet_qr::parts(
        "crypto-psbt",
        &wallet_qr::byte_string(&{
            let mut p = large_psbt(&export);
            p.unsigned_tx.lock_time = absolute::LockTime::from_consensus(5);
            p.serialize()
        }),
        120,
        2,
    );
    let file = export.write(
        "incomplete.txt",
        format!("{}\n{}", parts[0], other[1]).as_bytes(),
    );
    refuse(s(&file), "belongs to another payload");
    // A transaction file among frame inputs.
    let file = export.write("incomplete.txt", parts[0].as_bytes());
    let b64 = export.write("unsigned.b64", B64.encode(good.serialize()).as_bytes());
    refused_before_the_key(
        &export.sign_tx("--psbt", s(&file), &[s(&b64), "--yes"]),
        "several inputs only as QR frames",
    );

    // eth-sign-request: truncated CBOR, trailing bytes, typed data, a signer that is not
    // this key, a chain id that is not the transaction's, a data type that is not its kind.
    let sign_eth = |cbor: &[u8]| {
        let frame = wallet_qr::ur_text("eth-sign-request", cbor);
        export.sign_tx("--eth-tx", &frame, &["--yes"])
    };
    let ours = export.eth_address();
    let legacy = eth::unsigned(0, 1, &eth::PAYEE, 1, &[]);
    let typed = eth::unsigned(2, 1, &eth::PAYEE, 1, &[]);
    let request = wallet_qr::eth_sign_request(&[7; 16], &legacy, 1, 1, &ours);
    refused_before_the_key(
        &sign_eth(&request[..request.len() - 4]),
        "malformed or truncated CBOR",
    );
    let mut trailing = request.clone();
    trailing.push(0);
    refused_before_the_key(&sign_eth(&trailing), "byte(s) follow the request");
    refused_before_the_key(
        &sign_eth(&wallet_qr::eth_sign_request(&[7; 16], &legacy, 2, 1, &ours)),
        "EIP-712 typed data",
    );
    // The signer is checked once the key is known.
    refused(
        &sign_eth(&wallet_qr::eth_sign_request(
            &[7; 16],
            &legacy,
            1,
            1,
            &[0x11; 20],
        )),
        "the wallet asks for the signature of 0x1111111111111111111111111111111111111111",
    );
    refused_before_the_key(
        &sign_eth(&wallet_qr::eth_sign_request(
            &[7; 16], &legacy, 1, 137, &ours,
        )),
        "names chain id 137",
    );
    refused_before_the_key(
        &sign_eth(&wallet_qr::eth_sign_request(&[7; 16], &typed, 1, 1, &ours)),
        "says legacy transaction (data-type 1) but carries a typed one",
    );
    // --ur-out answers a request: a transaction given as hex has none.
    let never = export.dir().join("never");
    let output = export.sign_tx(
        "--eth-tx",
        &hex::encode(&typed),
        &["--yes", "--ur-out", s(&never)],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!never.exists());
}

#[test]
fn an_eth_sign_request_qr_is_answered_by_an_eth_signature_that_recovers_the_address_reconstruct_shows()
 {
    use sha3::{Digest, Keccak256};
    let export = Export::secp256k1();
    let address = export.shown_eth_address();
    for (kind, data_type, chain) in [(0u8, 1u8, 1u64), (2, 4, 1), (1, 4, 11_155_111)] {
        let unsigned = eth::unsigned(kind, chain, &eth::TOKEN, 0, &eth::erc20_transfer());
        let id: [u8; 16] = [kind + 0x10; 16];
        let request =
            wallet_qr::eth_sign_request(&id, &unsigned, data_type, chain, &export.eth_address());
        let png = export.write(
            &format!("request-{kind}.png"),
            &wallet_qr::ur_png("eth-sign-request", &request),
        );
        let out = export.dir().join(format!("answer-{kind}"));
        let output = export.sign_tx(
            "--eth-tx",
            s(&png),
            &["--yes", "--json", "--ur-out", s(&out)],
        );
        let json = success(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("eth-sign-request from MetaMask"),
            "{stderr}"
        );
        assert!(
            stderr.contains("m/44'/60'/0'/0/0 (the wallet's)"),
            "{stderr}"
        );
        assert_eq!(json["ethSignRequest"]["chainId"], chain);
        assert_eq!(json["ethSignRequest"]["sourceFingerprint"], "12345678");
        assert_eq!(json["ethereum"]["erc20"]["function"], "transfer");

        // The answer, scanned with rqrr and decoded with the ur crate and minicbor.
        let scanned = wallet_qr::scan(&std::fs::read(out.join("eth-signature-01.png")).unwrap());
        let (ur_type, cbor) = wallet_qr::decode(&scanned);
        assert_eq!(ur_type, "eth-signature");
        let (answered_id, signature) = wallet_qr::eth_signature(&cbor);
        assert_eq!(answered_id, id);
        assert_eq!(signature.len(), 65);
        let v = u64::from(signature[64]);
        let recovery = if kind == 0 { v - 35 - 2 * chain } else { v };
        let digest: [u8; 32] = Keccak256::digest(&unsigned).into();
        assert_eq!(
            recovered_eth_address(digest, &signature[..64], recovery),
            address,
            "type {kind}"
        );
        // r ‖ s is the signature inside the raw signed transaction.
        let (_, rs, id) = eth::signing_parts(&signed_eth_tx(&json), chain);
        assert_eq!(rs.as_slice(), &signature[..64]);
        assert_eq!(id, recovery);
    }
}

#[test]
fn show_plays_the_signed_psbt_for_the_wallet_camera_in_codes_that_scan_at_80x24() {
    use crate::screen::{decode_screen, frames_shown};
    let export = Export::secp256k1();
    let unsigned = large_psbt(&export);
    let out = export.dir().join("answer");
    let json = success(&export.sign_psbt(&unsigned, &["--yes", "--json", "--ur-out", s(&out)]));
    let shown = in_terminal(
        &out,
        &["show", "crypto-psbt.txt", "--loops", "1", "--fps", "30"],
        &[],
    );
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    let screens = frames_shown(&shown);
    assert!(screens.len() > 1);
    let texts: Vec<String> = screens
        .iter()
        .map(|screen| {
            let found = decode_screen(screen);
            assert_eq!(found.len(), 1, "{}", screen.contents());
            found[0].clone()
        })
        .collect();
    let (ur_type, message) = wallet_qr::decode(&texts);
    assert_eq!(ur_type, "crypto-psbt");
    assert_eq!(message, wallet_qr::byte_string(&signed_psbt(&json)));
    // Anything else is still refused by name.
    offline()
        .args(["show", "response.json"])
        .current_dir(export.dir())
        .assert()
        .code(3)
        .stderr(predicates::str::contains("nor a wallet answer"));
}

/// PSBT version 2 (BIP-370) by hand, from its key table: the transaction's fields as
/// global, input and output keys, every other key as in version 0.
mod psbt_v2 {
    use bitcoin::Transaction;
    use bitcoin::hashes::Hash;
    use bitcoin::psbt::Psbt;

    pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    fn read_compact(bytes: &[u8], at: &mut usize) -> usize {
        let first = bytes[*at];
        *at += 1;
        let len = match first {
            0xfd => 2,
            0xfe => 4,
            0xff => 8,
            small => return usize::from(small),
        };
        let value = bytes[*at..*at + len]
            .iter()
            .rev()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        *at += len;
        value
    }

    fn write_compact(out: &mut Vec<u8>, len: usize) {
        if len < 0xfd {
            out.push(u8::try_from(len).unwrap());
        } else {
            out.push(0xfd);
            out.extend_from_slice(&u16::try_from(len).unwrap().to_le_bytes());
        }
    }

    /// Every map of a binary PSBT, the global one first.
    pub fn maps(psbt: &[u8]) -> Vec<Entries> {
        assert!(psbt.starts_with(b"psbt\xff"));
        let (mut at, mut maps, mut map) = (5, Vec::new(), Vec::new());
        while at < psbt.len() {
            let key_len = read_compact(psbt, &mut at);
            if key_len == 0 {
                maps.push(std::mem::take(&mut map));
                continue;
            }
            let key = psbt[at..at + key_len].to_vec();
            at += key_len;
            let len = read_compact(psbt, &mut at);
            map.push((key, psbt[at..at + len].to_vec()));
            at += len;
        }
        assert!(map.is_empty());
        maps
    }

    pub fn serialize(maps: &[Entries]) -> Vec<u8> {
        let mut out = b"psbt\xff".to_vec();
        for map in maps {
            for (key, value) in map {
                write_compact(&mut out, key.len());
                out.extend_from_slice(key);
                write_compact(&mut out, value.len());
                out.extend_from_slice(value);
            }
            out.push(0);
        }
        out
    }

    /// The version 2 form of the unsigned version 0 `psbt`, with PSBT_GLOBAL_FALLBACK_LOCKTIME
    /// `fallback`, TX_MODIFIABLE inputs and outputs set, and `extra` keys per input.
    pub fn from_v0(psbt: &Psbt, fallback: u32, extra: &[Entries]) -> Vec<u8> {
        let tx = &psbt.unsigned_tx;
        let v0 = maps(&psbt.serialize());
        let count = |n: usize| vec![u8::try_from(n).unwrap()];
        let mut global: Entries = vec![
            (vec![0x02], tx.version.0.to_le_bytes().to_vec()),
            (vec![0x03], fallback.to_le_bytes().to_vec()),
            (vec![0x04], count(tx.input.len())),
            (vec![0x05], count(tx.output.len())),
            (vec![0x06], vec![0b011]),
            (vec![0xfb], 2u32.to_le_bytes().to_vec()),
        ];
        global.extend(v0[0].iter().filter(|(k, _)| k != &[0x00]).cloned());
        let mut out = vec![global];
        for (index, txin) in tx.input.iter().enumerate() {
            let mut map = v0[1 + index].clone();
            map.push((
                vec![0x0e],
                txin.previous_output.txid.to_byte_array().to_vec(),
            ));
            map.push((vec![0x0f], txin.previous_output.vout.to_le_bytes().to_vec()));
            map.push((vec![0x10], txin.sequence.0.to_le_bytes().to_vec()));
            map.extend(extra.get(index).cloned().unwrap_or_default());
            out.push(map);
        }
        for (index, txout) in tx.output.iter().enumerate() {
            let mut map = v0[1 + tx.input.len() + index].clone();
            map.push((vec![0x03], txout.value.to_sat().to_le_bytes().to_vec()));
            map.push((vec![0x04], txout.script_pubkey.to_bytes()));
            out.push(map);
        }
        serialize(&out)
    }

    /// The version 0 form of the version 2 PSBT `v2` for the `bitcoin` crate: the unsigned
    /// transaction `tx`, the version 2 keys dropped.
    pub fn to_v0(v2: &[u8], tx: &Transaction) -> Psbt {
        let maps = maps(v2);
        let inputs = tx.input.len();
        let mut out = Vec::new();
        for (index, map) in maps.iter().enumerate() {
            let keep = |key: &[u8]| match index {
                0 => !matches!(key, [0x02..=0x06] | [0xfb]),
                i if i <= inputs => !matches!(key, [0x0e..=0x12]),
                _ => !matches!(key, [0x03] | [0x04]),
            };
            let mut kept: Entries = map.iter().filter(|(k, _)| keep(k)).cloned().collect();
            if index == 0 {
                kept.insert(0, (vec![0x00], bitcoin::consensus::serialize(tx)));
            }
            out.push(kept);
        }
        Psbt::deserialize(&serialize(&out)).unwrap()
    }
}

#[test]
fn a_version_2_psbt_of_p2wpkh_and_p2tr_inputs_signs_stays_version_2_and_verifies() {
    let export = Export::secp256k1();
    let mut unsigned = export.spend();
    // BIP-370's lock time: input 0 requires height 800000, which wins over the fallback.
    unsigned.unsigned_tx.lock_time = absolute::LockTime::from_consensus(800_000);
    let height = vec![(vec![0x12], 800_000u32.to_le_bytes().to_vec())];
    let v2 = psbt_v2::from_v0(&unsigned, 0, &[height]);
    let path = export.write("v2.psbt", &v2);

    let json = success(&export.sign(s(&path), &["--yes", "--json"]));
    assert_eq!(json["psbt"]["feeSat"], 1_410);
    assert_eq!(
        json["psbt"]["txid"],
        unsigned.unsigned_tx.compute_txid().to_string()
    );
    let signed = signed_psbt(&json);
    let before = psbt_v2::maps(&v2);
    let after = psbt_v2::maps(&signed);
    assert_eq!(after.len(), before.len());
    // Still version 2, with no unsigned transaction; SIGHASH_ALL cleared TX_MODIFIABLE.
    assert!(after[0].contains(&(vec![0xfb], 2u32.to_le_bytes().to_vec())));
    assert!(after[0].contains(&(vec![0x06], vec![0])));
    assert!(after[0].iter().all(|(k, _)| k != &[0x00]));
    // Every key the wallet gave is kept; the outputs are untouched.
    for (old, new) in before[1..3].iter().zip(&after[1..3]) {
        assert!(old.iter().all(|entry| new.contains(entry)));
        assert!(new.len() > old.len());
    }
    assert_eq!(before[3..], after[3..]);
    // The wallet's QR answer carries the same version 2 PSBT.
    assert_eq!(
        wallet_qr::decode(&json_frames(&json, "signedPsbtUr")),
        ("crypto-psbt".to_owned(), wallet_qr::byte_string(&signed))
    );

    let tx = finalize_and_verify(&export, psbt_v2::to_v0(&signed, &unsigned.unsigned_tx));
    assert_eq!(tx.lock_time.to_consensus_u32(), 800_000);
    assert!(tx.input.iter().all(|i| !i.witness.is_empty()));

    // The text output is the same signed PSBT; the summary names version 2.
    let output = export.sign(s(&path), &["--yes"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        json["signedPsbt"].as_str().unwrap()
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("version 2, 2 input(s)"));
}

#[test]
fn malformed_version_2_psbts_are_refused() {
    let export = Export::secp256k1();
    let unsigned = psbt(
        &[(export.p2wpkh(), 100_000)],
        &[(foreign_script(7), 90_000)],
    );
    let good = psbt_v2::maps(&psbt_v2::from_v0(&unsigned, 0, &[]));
    let refuse = |maps: &[psbt_v2::Entries], why: &str| {
        let path = export.write("bad.psbt", &psbt_v2::serialize(maps));
        refused_before_the_key(&export.sign(s(&path), &["--yes"]), why);
    };
    // A version 0 field.
    let mut maps = good.clone();
    maps[0].push((
        vec![0x00],
        bitcoin::consensus::serialize(&unsigned.unsigned_tx),
    ));
    refuse(&maps, "PSBT_GLOBAL_UNSIGNED_TX");
    // A key twice.
    let mut maps = good.clone();
    maps[1].push((vec![0x0f], 0u32.to_le_bytes().to_vec()));
    refuse(&maps, "input 0 has the key 0f twice");
    // Counts that disagree with the maps, either way.
    let mut maps = good.clone();
    maps[0][2].1 = vec![2];
    refuse(&maps, "the counts disagree with the maps");
    let mut maps = good.clone();
    maps[0][3].1 = vec![0];
    refuse(&maps, "the counts disagree with the maps");
    // A field of the wrong length, and one with key data.
    let mut maps = good.clone();
    maps[1].retain(|(k, _)| k != &[0x0e]);
    maps[1].push((vec![0x0e], vec![1; 31]));
    refuse(&maps, "PSBT_IN_PREVIOUS_TXID is 31 bytes, not 32");
    let mut maps = good.clone();
    maps[0].push((vec![0x03, 1], vec![0; 4]));
    refuse(&maps, "PSBT_GLOBAL_FALLBACK_LOCKTIME key carries key data");
    // One input requires a time, the other a height: no lock time satisfies both.
    let two = psbt(
        &[(export.p2wpkh(), 100_000), (export.p2tr(), 100_000)],
        &[(foreign_script(7), 190_000)],
    );
    let time = vec![(vec![0x11], 600_000_000u32.to_le_bytes().to_vec())];
    let height = vec![(vec![0x12], 800_000u32.to_le_bytes().to_vec())];
    let maps = psbt_v2::maps(&psbt_v2::from_v0(&two, 0, &[time, height]));
    refuse(&maps, "no lock time satisfies them all");
}

/// BIP-370's invalid version 2 test vectors ("Test Vectors", the "PSBTv2 …" cases), each
/// refused for the reason it names.
#[test]
fn bip370_invalid_version_2_vectors_are_refused() {
    const HEAD: &str = "70736274ff";
    // The prefix every vector's input 0 shares: its non_witness_utxo and witness_utxo.
    const UTXOS: &str = "000100520200000001c1aa256e214b96a1822f93de42bff3b5f3ff8d0519306e3515d7515a5e805b120000000000ffffffff0118c69a3b00000000160014b0a3af144208412693ca7d166852b52db0aef06e0000000001011f18c69a3b00000000160014b0a3af144208412693ca7d166852b52db0aef06e";
    const TXID: &str = "010e200b0ad921419c1c8719735d72dc739f9ea9e0638d1fe4c1eef0f9944084815fc8";
    const IN0_END: &str = "00220202d601f84846a6755f776be00e3d9de8fb10acc935fb83c45fb0162d4cad5ab79218f69d873e540000800100008000000080000000002a000000";
    const OUT1: &str = "00220202e36fbff53dd534070cf8fd396614680f357a9b85db7340bf1cfa745d2ad7b34018f69d873e54000080010000800000008001000000640000000103088bbdeb0b0000000001041600144dd193ac964a56ac1b9e1cca8454fe2f474f851300";
    const OUT0_AMOUNT: &str = "0103080008af2f00000000";
    const OUT0_SCRIPT: &str = "0104160014c430f64c4756da310dbd1a085572ef299926272c";
    let cases = [
        (
            "PSBTv2 missing PSBT_GLOBAL_INPUT_COUNT.",
            format!(
                "{HEAD}01020402000000010304000000000105010201fb0402000000{UTXOS}{TXID}010f0400000000011004feffffff{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "has no PSBT_GLOBAL_INPUT_COUNT",
        ),
        (
            "PSBTv2 missing PSBT_GLOBAL_OUTPUT_COUNT.",
            format!(
                "{HEAD}01020402000000010304000000000104010101fb0402000000{UTXOS}{TXID}010f0400000000011004feffffff{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "has no PSBT_GLOBAL_OUTPUT_COUNT",
        ),
        (
            "PSBTv2 missing PSBT_IN_PREVIOUS_TXID.",
            format!(
                "{HEAD}0102040200000001030400000000010401010105010201fb0402000000{UTXOS}010f0400000000011004feffffff{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "input 0 has no PSBT_IN_PREVIOUS_TXID",
        ),
        (
            "PSBTv2 missing PSBT_IN_OUTPUT_INDEX.",
            format!(
                "{HEAD}0102040200000001030400000000010401010105010201fb0402000000{UTXOS}{TXID}011004feffffff{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "input 0 has no PSBT_IN_OUTPUT_INDEX",
        ),
        (
            "PSBTv2 missing PSBT_OUT_AMOUNT.",
            format!(
                "{HEAD}0102040200000001030400000000010401010105010201fb0402000000{UTXOS}{TXID}010f0400000000011004feffffff{IN0_END}{OUT0_SCRIPT}{OUT1}"
            ),
            "output 0 has no PSBT_OUT_AMOUNT",
        ),
        (
            "PSBTv2 missing PSBT_OUT_SCRIPT.",
            format!(
                "{HEAD}0102040200000001030400000000010401010105010201fb0402000000{UTXOS}{TXID}010f0400000000011004feffffff{IN0_END}{OUT0_AMOUNT}{OUT1}"
            ),
            "output 0 has no PSBT_OUT_SCRIPT",
        ),
        (
            "PSBTv2 with PSBT_IN_REQUIRED_TIME_LOCKTIME less than 500000000.",
            format!(
                "{HEAD}01020402000000010401010105010201fb0402000000{UTXOS}{TXID}010f0400000000011104ff64cd1d{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "PSBT_IN_REQUIRED_TIME_LOCKTIME 499999999 is below 500000000",
        ),
        (
            "PSBTv2 with PSBT_IN_REQUIRED_HEIGHT_LOCKTIME greater than or equal to 500000000.",
            format!(
                "{HEAD}01020402000000010401010105010201fb0402000000{UTXOS}{TXID}010f04000000000112040065cd1d{IN0_END}{OUT0_AMOUNT}{OUT0_SCRIPT}{OUT1}"
            ),
            "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME 500000000 is not a block height",
        ),
    ];
    let export = Export::secp256k1();
    for (case, hex_psbt, why) in cases {
        let output = export.sign(&B64.encode(hex::decode(&hex_psbt).unwrap()), &["--yes"]);
        refused_before_the_key(&output, why);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("not a valid version 2 PSBT"), "{case}");
    }
}

/// BIP-370's invalid version 0 test vectors (the "PSBTv0 but with PSBT_IN_…/PSBT_OUT_…"
/// cases), and the global version 2 fields added by hand to the same PSBT: refused.
#[test]
fn version_0_psbts_with_version_2_fields_are_refused() {
    // The vectors' version 0 PSBT up to the end of input 0's last key, the rest of input 0
    // and output 0, and output 1.
    const HEAD: &str = "70736274ff01007102000000010b0ad921419c1c8719735d72dc739f9ea9e0638d1fe4c1eef0f9944084815fc80000000000feffffff020008af2f00000000160014c430f64c4756da310dbd1a085572ef299926272c8bbdeb0b00000000160014a07dac8ab6ca942d379ed795f835ba71c9cc688500000000000100520200000001c1aa256e214b96a1822f93de42bff3b5f3ff8d0519306e3515d7515a5e805b120000000000ffffffff0118c69a3b00000000160014b0a3af144208412693ca7d166852b52db0aef06e0000000001011f18c69a3b00000000160014b0a3af144208412693ca7d166852b52db0aef06e01086b02473044022005275a485734e0ae1f3b971237586f0e72dc85833d278c0e474cd23112c0fa5e02206b048c83cebc3c41d0b93cc7da76185cedbd030d005b08018be2b98bbacbdf7b012103760dcca05f3997dc65b293060f7f29f1514c8c527048e12802b041d4fc340a27";
    const OUT0: &str = "00220202d601f84846a6755f776be00e3d9de8fb10acc935fb83c45fb0162d4cad5ab79218f69d873e540000800100008000000080000000002a000000";
    const OUT1: &str = "002202036efe2c255621986553ba9d65c3ddc64165ca1436e05aa35a4c6eb02451cf796d18f69d873e540000800100008000000080010000006200000000";
    let export = Export::secp256k1();
    let refuse = |bytes: &[u8], why: &str| {
        refused_before_the_key(&export.sign(&B64.encode(bytes), &["--yes"]), why)
    };
    let cases = [
        (
            "010e200b0ad921419c1c8719735d72dc739f9ea9e0638d1fe4c1eef0f9944084815fc8",
            "",
            "input 0 carries PSBT_IN_PREVIOUS_TXID",
        ),
        ("010f0400000000", "", "input 0 carries PSBT_IN_OUTPUT_INDEX"),
        ("011004ffffffff", "", "input 0 carries PSBT_IN_SEQUENCE"),
        (
            "0111048c8dc462",
            "",
            "input 0 carries PSBT_IN_REQUIRED_TIME_LOCKTIME",
        ),
        (
            "01120410270000",
            "",
            "input 0 carries PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
        ),
        (
            "",
            "0103080008af2f00000000",
            "output 0 carries PSBT_OUT_AMOUNT",
        ),
        (
            "",
            "0104160014a07dac8ab6ca942d379ed795f835ba71c9cc6885",
            "output 0 carries PSBT_OUT_SCRIPT",
        ),
    ];
    for (input, output, why) in cases {
        refuse(
            &hex::decode(format!("{HEAD}{input}{OUT0}{output}{OUT1}")).unwrap(),
            why,
        );
    }
    // The global fields, after the unsigned transaction (magic, key, 113-byte value).
    let plain = hex::decode(format!("{HEAD}{OUT0}{OUT1}")).unwrap();
    for (field, name) in [
        ("01020402000000", "PSBT_GLOBAL_TX_VERSION"),
        ("01030400000000", "PSBT_GLOBAL_FALLBACK_LOCKTIME"),
        ("01040101", "PSBT_GLOBAL_INPUT_COUNT"),
        ("01050102", "PSBT_GLOBAL_OUTPUT_COUNT"),
        ("01060100", "PSBT_GLOBAL_TX_MODIFIABLE"),
    ] {
        let mut bytes = plain[..5 + 3 + 113].to_vec();
        bytes.extend(hex::decode(field).unwrap());
        bytes.extend_from_slice(&plain[5 + 3 + 113..]);
        refuse(&bytes, &format!("the global map carries {name}"));
    }
}
