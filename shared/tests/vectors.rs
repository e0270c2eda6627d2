//! Runs every vector of every vector file of the repository's copy
//! (`shared/tests/vectors/*.json`; CI checks it equals the published vectors) and checks its
//! exact outcome: key, chain code, error kind and bad signers.
//!
//! The files are found by listing the folder, so a new file is run without a change here.
//! `*.meta.json` files describe how a set was made (Dfns' reference version, seeds): they
//! hold no vectors and are checked to belong to a vector file.

use std::path::PathBuf;

use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::wire::ExportResponse;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Whether a file of the vectors folder is metadata (`NAME.meta.json`), not vectors.
fn is_meta(name: &str) -> bool {
    name.ends_with(".meta.json")
}

/// The vector files of the folder (every `*.json` but the metadata), sorted.
fn vector_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !is_meta(n))
        .collect();
    files.sort();
    files
}

fn load(file: &str) -> Vec<Value> {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text).unwrap();
    match value {
        Value::Array(list) => list,
        Value::Object(mut object) => match object.remove("vectors") {
            Some(Value::Array(list)) => list,
            _ => panic!("{file}: no vectors array"),
        },
        _ => panic!("{file}: unexpected shape"),
    }
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value.map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    })
}

/// Runs one vector and returns a description of any mismatch.
fn run(vector: &Value) -> Result<(), String> {
    let name = vector["name"].as_str().unwrap();
    let key = DecryptionKey::from_dfns_hex(vector["decryptionKey"].as_str().unwrap()).unwrap();
    let request_key = vector
        .pointer("/request/encryptionKey")
        .and_then(Value::as_str);
    if request_key.is_some_and(|k| k != key.encryption_key().to_base64()) {
        return Err(format!(
            "{name}: decryption key does not match request.encryptionKey"
        ));
    }
    let expected = &vector["expected"];
    let expected_bad = strings(expected.get("badSigners"));
    let response_bytes = serde_json::to_vec(&vector["response"]).unwrap();
    let outcome = ExportResponse::from_json(&response_bytes).and_then(|r| reconstruct(&r, &key));
    match (outcome, expected.get("privateKey"), expected.get("error")) {
        (Ok(rebuilt), Some(private_key), None) => {
            if rebuilt.private_key.to_hex().as_str() != private_key.as_str().unwrap() {
                return Err(format!("{name}: wrong private key"));
            }
            let bad: Vec<String> = rebuilt
                .bad_signers()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let expected_bad = expected_bad.unwrap_or_default();
            if bad != expected_bad {
                return Err(format!(
                    "{name}: bad signers {bad:?}, expected {expected_bad:?}"
                ));
            }
            // Files from before chain codes expect none; the others name it (or null).
            let chain_code = rebuilt.chain_code.as_ref().map(|c| c.to_hex());
            let expected_code = expected.get("chainCode").and_then(Value::as_str);
            if chain_code.as_ref().map(|c| c.as_str()) != expected_code {
                return Err(format!(
                    "{name}: chain code {}, expected {}",
                    if chain_code.is_some() {
                        "present"
                    } else {
                        "absent"
                    },
                    expected_code.unwrap_or("none")
                ));
            }
            if rebuilt.is_hd() != expected_code.is_some() {
                return Err(format!("{name}: is_hd() disagrees with the chain code"));
            }
            if !rebuilt.unknown_fields.is_empty() {
                return Err(format!(
                    "{name}: unexpected unknown fields {:?}",
                    rebuilt.unknown_fields
                ));
            }
            let used = rebuilt.used_signers.len() + rebuilt.bad_shares.len();
            if used != rebuilt.share_count {
                return Err(format!(
                    "{name}: {used} signers accounted for of {}",
                    rebuilt.share_count
                ));
            }
            Ok(())
        }
        (Err(err), None, Some(kind)) => {
            if Some(err.kind().as_str()) != kind.as_str() {
                return Err(format!(
                    "{name}: error kind {} ({err}), expected {kind}",
                    err.kind()
                ));
            }
            if let Some(expected_bad) = expected_bad {
                let bad: Vec<String> = err.bad_signers().iter().map(|s| s.to_string()).collect();
                if bad != expected_bad {
                    return Err(format!(
                        "{name}: bad signers {bad:?}, expected {expected_bad:?}"
                    ));
                }
            }
            // Messages never carry key material.
            let message = err.to_string();
            if message.contains(&vector["decryptionKey"].as_str().unwrap()[2..]) {
                return Err(format!("{name}: error message leaks the decryption key"));
            }
            Ok(())
        }
        (Ok(_), _, Some(kind)) => Err(format!("{name}: succeeded, expected error {kind}")),
        (Err(err), Some(_), _) => Err(format!(
            "{name}: failed with {} ({err}), expected a key",
            err.kind()
        )),
        _ => Err(format!("{name}: vector has neither privateKey nor error")),
    }
}

/// Runs every vector of `file`; returns how many ran.
fn run_file(file: &str) -> usize {
    let vectors = load(file);
    assert!(!vectors.is_empty(), "{file} has no vectors");
    let failures: Vec<String> = vectors.iter().filter_map(|v| run(v).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors in {file} failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    vectors.len()
}

#[test]
fn every_vector_of_every_file_has_its_exact_outcome() {
    let files = vector_files();
    // The sets known when this test was written must be among them (a file lost in a
    // copy would otherwise go unnoticed); any other file is run just the same.
    for known in [
        "generated.json",
        "hd.json",
        "reference-hd.json",
        "reference.json",
    ] {
        assert!(files.iter().any(|f| f == known), "{known} is missing");
    }
    let counts: Vec<(String, usize)> = files.iter().map(|f| (f.clone(), run_file(f))).collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    assert!(total >= 70, "only {total} vectors ran: {counts:?}");
}

#[test]
fn metadata_files_describe_a_vector_file_and_hold_no_vectors() {
    let metas: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| is_meta(n))
        .collect();
    assert!(!metas.is_empty());
    for meta in metas {
        let set = meta.replace(".meta.json", ".json");
        assert!(
            vector_files().contains(&set),
            "{meta} describes {set}, which is not a vector file here"
        );
        let text = std::fs::read_to_string(vectors_dir().join(&meta)).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(
            value.is_object() && value.get("vectors").is_none(),
            "{meta} is not a metadata object"
        );
    }
}

/// The chain codes of the vectors match the values their metadata says were dealt: the
/// expected outcome is the reference's, not this project's reading of it.
#[test]
fn hd_reference_vectors_agree_with_their_metadata() {
    let text = std::fs::read_to_string(vectors_dir().join("reference-hd.meta.json")).unwrap();
    let meta: Value = serde_json::from_str(&text).unwrap();
    let vectors = load("reference-hd.json");
    let cases = meta["cases"].as_array().unwrap();
    assert_eq!(cases.len(), vectors.len());
    for (case, vector) in cases.iter().zip(&vectors) {
        assert_eq!(case["name"], vector["name"]);
        if vector["expected"].get("error").is_none() {
            assert_eq!(
                case["dealtChainCode"], vector["expected"]["chainCode"],
                "{}",
                case["name"]
            );
            assert_eq!(case["dealtPrivateKey"], vector["expected"]["privateKey"]);
        }
    }
}
