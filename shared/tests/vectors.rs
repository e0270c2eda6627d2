//! Runs every vector of the repository's copy (`shared/tests/vectors/*.json`; CI checks it
//! equals the published vectors) and checks its exact outcome: key, error kind and bad signers.
//!
//! `reference.json` comes from Dfns' own reference implementation;
//! `generated.json` from an independent model with error and robustness cases.

use std::path::PathBuf;

use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::wire::ExportResponse;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
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
            if err.kind() != kind.as_str().unwrap() {
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

fn run_file(file: &str) {
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
}

#[test]
fn reference_vectors_from_dfns() {
    run_file("reference.json");
}

#[test]
fn generated_vectors_with_error_and_robustness_cases() {
    run_file("generated.json");
}

#[test]
fn every_vector_file_is_run() {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.ends_with(".meta.json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["generated.json", "reference.json"],
        "a new vector file appeared: run it too"
    );
}
