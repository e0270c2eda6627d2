//! `sign --psbt`: PSBTs built here with the `bitcoin` crate, signed by the binary, then
//! finalized and verified with the `bitcoin` crate and libsecp256k1 (independent of k256,
//! which signs); the summary, the confirmation and the hostile PSBTs.

use std::path::{Path, PathBuf};

use base64::Engine;
use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache};
use bitcoin::{
    Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness, XOnlyPublicKey, absolute, transaction,
};
use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::keys::DecryptionKey;
use rand_core::OsRng;
use serde_json::Value;

use crate::common::{offline, s, stdout_json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A dealt secp256k1 export with a plain decryption key, and its Bitcoin scripts.
struct Export {
    tmp: tempfile::TempDir,
    key: PathBuf,
    response: PathBuf,
    dealt: Dealt,
}

impl Export {
    fn new() -> Export {
        Export::of("CGGMP24:secp256k1")
    }

    fn of(scheme: &str) -> Export {
        let tmp = tempfile::tempdir().unwrap();
        let decryption = DecryptionKey::generate();
        let dealt =
            Deal::new(scheme.parse().unwrap(), 2, 3).run(&decryption.encryption_key(), &mut OsRng);
        let key = tmp.path().join("decryption-key.hex");
        std::fs::write(&key, format!("{}\n", decryption.to_dfns_hex().as_str())).unwrap();
        let response = tmp.path().join("response.json");
        std::fs::write(
            &response,
            serde_json::to_vec(&dealt.response.to_json_value()).unwrap(),
        )
        .unwrap();
        Export {
            tmp,
            key,
            response,
            dealt,
        }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn compressed(&self) -> CompressedPublicKey {
        let point = k256::PublicKey::from_sec1_bytes(self.dealt.response.public_key.as_bytes())
            .unwrap()
            .to_sec1_bytes();
        CompressedPublicKey::from_slice(&point).unwrap()
    }

    fn secret(&self) -> SecretKey {
        SecretKey::from_slice(&hex::decode(self.dealt.private_key.to_hex().as_str()).unwrap())
            .unwrap()
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

    /// `sign --decryption-key … --response … --solana-tx INPUT` plus `extra`.
    fn sign_solana(&self, input: &str, extra: &[&str]) -> std::process::Output {
        offline()
            .args(["sign", "--decryption-key", s(&self.key)])
            .args(["--response", s(&self.response), "--solana-tx", input])
            .args(extra)
            .output()
            .unwrap()
    }

    /// `sign --decryption-key … --response … --psbt INPUT` plus `extra`.
    fn sign(&self, input: &str, extra: &[&str]) -> std::process::Output {
        offline()
            .args(["sign", "--decryption-key", s(&self.key)])
            .args(["--response", s(&self.response), "--psbt", input])
            .args(extra)
            .output()
            .unwrap()
    }
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

fn success(output: &std::process::Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(output)
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
    let export = Export::new();
    let payee = foreign_script(7);
    let unsigned = psbt(
        &[(export.p2wpkh(), 100_000), (export.p2tr(), 200_000)],
        &[(payee.clone(), 250_000), (export.p2tr(), 48_000)],
    );
    let text = B64.encode(unsigned.serialize());
    let json = success(&export.sign(&text, &["--yes", "--json"]));
    assert_eq!(json["mode"], "checked");
    assert_eq!(json["format"], "bitcoin-psbt");
    let summary = &json["psbt"];
    assert_eq!(summary["network"], "mainnet");
    assert_eq!(summary["feeSat"], 2_000);
    assert_eq!(summary["inputTotalSat"], 300_000);
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

    let signed =
        Psbt::deserialize(&B64.decode(json["signedPsbt"].as_str().unwrap()).unwrap()).unwrap();
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
    let summary_text = &stderr[stderr.find("PSBT ").unwrap()..];
    assert!(
        summary_text.lines().all(|l| l.chars().count() <= 80),
        "{summary_text}"
    );

    // The transcript records a checked signature per input, with its sighash.
    let transcript = std::fs::read_to_string(export.dir().join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["signing"]["mode"], "checked");
    assert_eq!(last["signing"]["format"], "bitcoin-psbt");
    assert_eq!(last["signing"]["signatures"].as_array().unwrap().len(), 2);
    assert!(!transcript.contains(export.dealt.private_key.to_hex().as_str()));
}

#[test]
fn a_testnet_psbt_file_signs_and_the_signed_file_is_written() {
    let export = Export::new();
    let foreign = foreign_script(9);
    let unsigned = psbt(
        &[(export.p2tr(), 80_000), (foreign.clone(), 10_000)],
        &[(foreign_script(8), 89_000)],
    );
    let file = export.dir().join("unsigned.psbt");
    std::fs::write(&file, unsigned.serialize()).unwrap();
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
    let export = Export::new();
    let refused = |psbt: &Psbt, text: &str| {
        let output = export.sign(&B64.encode(psbt.serialize()), &["--yes"]);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(text), "{stderr}");
    };
    // An input without its UTXO: the amount and the fee cannot be checked.
    let mut no_amount = psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 49_000)]);
    no_amount.inputs[0].witness_utxo = None;
    refused(&no_amount, "does not say what it spends");
    // A non_witness_utxo that is not the transaction the input spends.
    let mut other_tx = psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 49_000)]);
    other_tx.inputs[0].non_witness_utxo = Some(other_tx.unsigned_tx.clone());
    refused(&other_tx, "its non_witness_utxo is transaction");
    // Outputs above the inputs.
    refused(
        &psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 60_000)]),
        "the inputs hold only",
    );
    // No input of this key.
    refused(
        &psbt(
            &[(foreign_script(4), 50_000)],
            &[(foreign_script(3), 49_000)],
        ),
        "nothing to sign",
    );
    // A sighash type that lets others change the transaction.
    let mut single = psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 49_000)]);
    single.inputs[0].sighash_type = Some(EcdsaSighashType::SinglePlusAnyoneCanPay.into());
    refused(&single, "not ALL");
    // Not a PSBT at all.
    let output = export.sign("bm90IGEgcHNidA==", &["--yes"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a valid PSBT"));

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
    let output = export.sign(&B64.encode(greedy.serialize()), &["--yes"]);
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
    let fine = psbt(&[(export.p2wpkh(), 50_000)], &[(foreign_script(3), 49_000)]);
    let output = export.sign(&B64.encode(fine.serialize()), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no terminal to confirm"), "{stderr}");
    // The refusal is recorded, without any signature.
    let transcript = std::fs::read_to_string(export.dir().join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"]["status"], "failed");
    assert!(last.get("signing").is_none());
}

#[test]
fn a_bare_digest_needs_blind_and_is_recorded_as_blind() {
    let export = Export::new();
    let digest = "9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658";
    let sign = |extra: &[&str]| {
        offline()
            .args(["sign", "--decryption-key", s(&export.key)])
            .args(["--response", s(&export.response)])
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
    let transcript = std::fs::read_to_string(export.dir().join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["signing"]["mode"], "blind");
    assert_eq!(last["signing"]["signatures"][0]["signedDigest"], digest);
    assert!(last["signing"].get("format").is_none());
    // --blind does not go with a transaction.
    let output = export.sign("cHNidP8=", &["--blind", "--yes"]);
    assert_eq!(output.status.code(), Some(2));
}

/// The operator's screen for a PSBT of the reference export's key: one P2WPKH and one P2TR
/// input of the key, a payment and change, on testnet.
#[test]
fn psbt_summary_snapshot() {
    let v = crate::common::vector("cggmp24-secp256k1-2of3");
    let tmp = tempfile::tempdir().unwrap();
    crate::common::vector_files(tmp.path(), &v);
    let public = hex::decode(v["response"]["publicKey"].as_str().unwrap()).unwrap();
    let point = k256::PublicKey::from_sec1_bytes(&public)
        .unwrap()
        .to_sec1_bytes();
    let compressed = CompressedPublicKey::from_slice(&point).unwrap();
    let p2wpkh = ScriptBuf::new_p2wpkh(&compressed.wpubkey_hash());
    let p2tr = ScriptBuf::new_p2tr(&Secp256k1::new(), XOnlyPublicKey::from(compressed.0), None);
    let unsigned = psbt(
        &[(p2wpkh, 150_000), (p2tr.clone(), 1_000_000)],
        &[(foreign_script(7), 1_000_000), (p2tr, 148_590)],
    );
    std::fs::write(tmp.path().join("spend.psbt"), unsigned.serialize()).unwrap();
    let text = crate::snapshots::stderr_of(
        &[
            "sign",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--psbt",
            "spend.psbt",
            "--network",
            "testnet",
            "--yes",
        ],
        tmp.path(),
    );
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
    pub fn signing_parts(raw: &[u8], chain: u64) -> ([u8; 32], [u8; 64], i32) {
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
        (
            Keccak256::digest(&encoded).into(),
            rs,
            i32::try_from(id).unwrap(),
        )
    }
}

#[test]
fn ethereum_transactions_of_every_type_recover_to_the_address_reconstruct_shows() {
    use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use sha3::{Digest, Keccak256};
    let export = Export::new();
    let shown = offline()
        .args(["reconstruct", "--json", "--decryption-key", s(&export.key)])
        .args(["--response", s(&export.response)])
        .output()
        .unwrap();
    let address = stdout_json(&shown)["addresses"]["ethereum"]
        .as_str()
        .unwrap()
        .to_owned();
    let secp = Secp256k1::new();
    for kind in [0u8, 1, 2] {
        for erc20 in [false, true] {
            let chain = if kind == 1 { 11_155_111 } else { 1 };
            let (to, value, data) = if erc20 {
                (eth::TOKEN, 0, eth::erc20_transfer())
            } else {
                (eth::PAYEE, 1_500_000_000_000_000_000, vec![])
            };
            let unsigned = eth::unsigned(kind, chain, &to, value, &data);
            let json = success(
                &offline()
                    .args(["sign", "--decryption-key", s(&export.key)])
                    .args(["--response", s(&export.response)])
                    .args(["--eth-tx", &format!("0x{}", hex::encode(&unsigned))])
                    .args(["--chain-id", &chain.to_string(), "--yes", "--json"])
                    .output()
                    .unwrap(),
            );
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
            let raw = hex::decode(
                json["signedTransaction"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("0x")
                    .unwrap(),
            )
            .unwrap();
            let (digest, rs, id) = eth::signing_parts(&raw, chain);
            assert_eq!(
                hex::encode(digest),
                summary["signingHash"].as_str().unwrap()
            );
            assert_eq!(digest, <[u8; 32]>::from(Keccak256::digest(&unsigned)));
            let signature =
                RecoverableSignature::from_compact(&rs, RecoveryId::from_i32(id).unwrap()).unwrap();
            let recovered = secp
                .recover_ecdsa(&Message::from_digest(digest), &signature)
                .unwrap();
            let hash = Keccak256::digest(&recovered.serialize_uncompressed()[1..]);
            assert_eq!(
                format!("0x{}", hex::encode(&hash[12..])),
                address.to_lowercase(),
                "type {kind}, erc20 {erc20}"
            );
        }
    }
}

#[test]
fn hostile_ethereum_transactions_are_refused() {
    let export = Export::new();
    let sign = |tx: &[u8], extra: &[&str]| {
        offline()
            .args(["sign", "--decryption-key", s(&export.key)])
            .args(["--response", s(&export.response)])
            .args(["--eth-tx", &hex::encode(tx), "--yes"])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = |output: std::process::Output, text: &str| {
        assert_eq!(
            output.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(text), "{stderr}");
        assert!(!stderr.contains("Verified     the rebuilt key"), "{stderr}");
    };
    let good = eth::unsigned(2, 1, &eth::PAYEE, 1, &[]);
    let mut trailing = good.clone();
    trailing.push(0x80);
    refused(sign(&trailing, &[]), "follow the transaction");
    refused(
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
    refused(sign(&s.out(), &[]), "before EIP-155");
    refused(sign(&[0x04, 0xc0], &[]), "type 0x04");
    refused(
        sign(&[0x02, 0xc3, 0x01, 0x02], &[]),
        "not a valid unsigned transaction",
    );
}

/// The operator's screen for an EIP-1559 ERC-20 transfer signed with the reference export.
#[test]
fn ethereum_summary_snapshot() {
    let v = crate::common::vector("cggmp24-secp256k1-2of3");
    let tmp = tempfile::tempdir().unwrap();
    crate::common::vector_files(tmp.path(), &v);
    let unsigned = eth::unsigned(2, 1, &eth::TOKEN, 0, &eth::erc20_transfer());
    std::fs::write(
        tmp.path().join("tx.hex"),
        format!("0x{}\n", hex::encode(unsigned)),
    )
    .unwrap();
    let text = crate::snapshots::stderr_of(
        &[
            "sign",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--eth-tx",
            "tx.hex",
            "--chain-id",
            "1",
            "--yes",
        ],
        tmp.path(),
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
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

fn ed25519_verify(export: &Export, message: &[u8], signature: &[u8]) {
    use ed25519_dalek::{Signature, VerifyingKey};
    let public: [u8; 32] = export
        .dealt
        .response
        .public_key
        .as_bytes()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify_strict(message, &Signature::from_slice(signature).unwrap())
        .unwrap();
}

#[test]
fn a_solana_system_transfer_signs_and_verifies_with_ed25519_dalek() {
    let export = Export::of("FROST:ed25519");
    let ours: [u8; 32] = export
        .dealt
        .response
        .public_key
        .as_bytes()
        .try_into()
        .unwrap();
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
    let json = success(&export.sign_solana(&B64.encode(&message), &["--yes", "--json"]));
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
    let signature = hex::decode(json["signature"].as_str().unwrap()).unwrap();
    ed25519_verify(&export, &message, &signature);
    let transaction = B64
        .decode(json["signedTransaction"].as_str().unwrap())
        .unwrap();
    assert_eq!(transaction[0], 1);
    assert_eq!(&transaction[1..65], signature.as_slice());
    assert_eq!(&transaction[65..], message.as_slice());
    let transcript = std::fs::read_to_string(export.dir().join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["signing"]["format"], "solana-transaction");
}

#[test]
fn an_spl_transfer_in_a_v0_transaction_signs_and_unknown_programs_are_warned_about() {
    let export = Export::of("FROST:ed25519");
    let ours: [u8; 32] = export
        .dealt
        .response
        .public_key
        .as_bytes()
        .try_into()
        .unwrap();
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
    let file = export.dir().join("tx.b58");
    std::fs::write(&file, bs58::encode(&unsigned).into_string()).unwrap();
    let output = export.sign_solana(s(&file), &["--yes", "--json"]);
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
    let signature = hex::decode(json["signature"].as_str().unwrap()).unwrap();
    ed25519_verify(&export, &message, &signature);

    // A message this key does not sign, bytes after a message, and not a message at all.
    let refused = |text: &str, expected: &str| {
        let output = export.sign_solana(text, &["--yes"]);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    };
    let foreign = solana::message(false, [1, 0, 1], &[[0x12; 32], solana::SYSTEM], &[], None);
    refused(
        &B64.encode(&foreign),
        "is not one of the message's 1 signer(s)",
    );
    let mut trailing = message.clone();
    trailing.push(0);
    refused(&B64.encode(&trailing), "not a valid Solana message");
    refused("%%%", "neither base64 nor base58");
}

/// The operator's screen for a Solana transfer with an undecoded instruction, signed with
/// the reference ed25519 export.
#[test]
fn solana_summary_snapshot() {
    let v = crate::common::vector("frost-ed25519-2of3");
    let tmp = tempfile::tempdir().unwrap();
    crate::common::vector_files(tmp.path(), &v);
    let ours: [u8; 32] = hex::decode(v["response"]["publicKey"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
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
    std::fs::write(tmp.path().join("message.b64"), B64.encode(&message)).unwrap();
    let text = crate::snapshots::stderr_of(
        &[
            "sign",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--solana-tx",
            "message.b64",
            "--yes",
        ],
        tmp.path(),
    );
    // The summary fits 80 columns (reconstruct's ed25519 note above it is not this test's).
    let summary = &text[text.find("Transaction ").unwrap()..];
    assert!(
        summary.lines().all(|l| l.chars().count() <= 80),
        "{summary}"
    );
    insta::assert_snapshot!(text);
}

/// The typed confirmation at a terminal: `sign` signs, anything else signs nothing.
#[test]
fn at_a_terminal_the_operator_types_sign_to_sign() {
    use crate::screen::{Step, run};
    let export = Export::new();
    let unsigned = psbt(
        &[(export.p2wpkh(), 100_000)],
        &[(foreign_script(7), 99_000)],
    );
    let file = export.dir().join("unsigned.psbt");
    std::fs::write(&file, unsigned.serialize()).unwrap();
    let env = [("KEYEXPORT_ALLOW_ONLINE", "1")];
    let args = [
        "sign",
        "--decryption-key",
        s(&export.key),
        "--response",
        s(&export.response),
        "--psbt",
        s(&file),
    ];
    let bin = assert_cmd::cargo::cargo_bin("keyexport-offline");
    let refused = run(
        &bin,
        &args,
        &env,
        export.dir(),
        (80, 24),
        &[Step {
            wait_for: "Type `sign` to sign what is shown above",
            send: "yes\n",
        }],
    );
    assert_eq!(refused.code, 2, "{}", refused.raw_text());
    assert!(refused.raw_text().contains("nothing was signed"));
    assert!(
        !refused.raw_text().contains("cHNidP8"),
        "no PSBT is printed"
    );

    let signed = run(
        &bin,
        &args,
        &env,
        export.dir(),
        (80, 24),
        &[Step {
            wait_for: "Type `sign` to sign what is shown above",
            send: "sign\n",
        }],
    );
    assert_eq!(signed.code, 0, "{}", signed.raw_text());
    let text = signed.raw_text();
    let line = text
        .lines()
        .find(|l| l.trim().starts_with("cHNidP8"))
        .expect("the signed PSBT in base64");
    let psbt = Psbt::deserialize(&B64.decode(line.trim()).unwrap()).unwrap();
    finalize_and_verify(&export, psbt);
}
