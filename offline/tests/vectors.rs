//! Every vector of every vector file of the repository's copy (`shared/tests/vectors/`,
//! files found by listing the folder) through `reconstruct --json --reveal`: exact key,
//! chain code, error kind and bad signers.

use crate::common::{Ceremony, all_vectors, stdout_json};
use serde_json::Value;

fn sorted(values: &Value) -> Vec<String> {
    let mut out: Vec<String> = values
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_vector_has_its_exact_outcome() {
    let vectors = all_vectors();
    assert!(
        vectors.len() >= 70,
        "expected every vector file, got {} vectors",
        vectors.len()
    );
    let mut failures = Vec::new();
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let output = Ceremony::of(v.clone())
            .reconstruct()
            .args(["--json", "--reveal"])
            .output()
            .unwrap();
        let json = stdout_json(&output);
        let expected = &v["expected"];
        let outcome = match expected.get("privateKey") {
            Some(private_key) => {
                // Vectors from before chain codes name none: the key has none.
                let chain_code = expected.get("chainCode").cloned().unwrap_or(Value::Null);
                let hd = !chain_code.is_null();
                let ok = output.status.code() == Some(0)
                    && json["privateKey"] == *private_key
                    && json["hd"] == hd
                    && json.get("chainCode").cloned().unwrap_or(Value::Null) == chain_code
                    && json["unknownFields"] == serde_json::json!([])
                    && sorted(&json["badSigners"]) == sorted(&expected["badSigners"])
                    && json["curve"] == v["response"]["curve"]
                    && json["protocol"] == v["response"]["protocol"]
                    && json["minSigners"] == v["response"]["minSigners"];
                ok.then_some(())
                    .ok_or(format!("{name}: expected success, got {json}"))
            }
            None => {
                // Vectors name the bad signers where the fault lies in particular
                // shares; where they name none, any report is accepted.
                let signers_ok = expected
                    .get("badSigners")
                    .is_none_or(|bad| sorted(&json["error"]["badSigners"]) == sorted(bad));
                let ok = output.status.code() == Some(4)
                    && json["error"]["kind"] == expected["error"]
                    && signers_ok
                    && json.get("privateKey").is_none()
                    && json.get("chainCode").is_none();
                ok.then_some(()).ok_or(format!(
                    "{name}: expected {expected}, got {json} (exit {:?})",
                    output.status.code()
                ))
            }
        };
        if let Err(message) = outcome {
            failures.push(message);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn without_reveal_neither_key_nor_chain_code_is_printed() {
    let vectors = all_vectors();
    let plain = vectors
        .iter()
        .filter(|v| v["expected"].get("privateKey").is_some())
        .take(3);
    let hd = vectors
        .iter()
        .filter(|v| v["expected"]["chainCode"].is_string())
        .take(3);
    for v in plain.chain(hd) {
        let output = Ceremony::of(v.clone())
            .reconstruct()
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let json = stdout_json(&output);
        assert!(json.get("privateKey").is_none() && json.get("chainCode").is_none());
        assert_eq!(json["hd"], v["expected"]["chainCode"].is_string());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let secret = v["expected"]["privateKey"].as_str().unwrap();
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
        if let Some(code) = v["expected"]["chainCode"].as_str() {
            assert!(!stdout.contains(code) && !stderr.contains(code));
            assert!(
                stderr.contains("HD root key (chain code present)"),
                "{stderr}"
            );
        } else {
            assert!(!stderr.contains("HD root key"), "{stderr}");
        }
    }
}
