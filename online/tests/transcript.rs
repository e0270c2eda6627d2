//! The online transcript: one chained line per step of `submit`, each
//! naming the build, the response file recording the head of the `export-sent` line, a
//! failed step recorded with its exit code, and never a credential.

use keyexport_shared::files::{Artifact, sha256_hex};
use keyexport_shared::transcript;
use sandbox::SandboxConfig;
use serde_json::Value;

use crate::common::*;

fn lines(dir: &std::path::Path) -> (Vec<String>, Vec<Value>) {
    let text = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    let raw: Vec<String> = text.lines().map(str::to_owned).collect();
    let parsed = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (raw, parsed)
}

#[test]
fn every_step_is_chained_and_the_response_records_the_export_head() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = c.run_ok();
    let dir = c.dir.path();
    let (raw, parsed) = lines(dir);
    let steps: Vec<&str> = parsed.iter().map(|l| l["step"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        ["request-read", "preflight", "export-sent", "response-saved"]
    );
    for line in &parsed {
        assert_eq!(line["command"], "submit");
        assert_eq!(line["build"]["name"], "keyexport-online");
        assert_eq!(line["build"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(line["outcome"]["status"], "ok");
    }
    let report = transcript::verify(&dir.join("transcript.jsonl")).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.head, sha256_hex(raw[3].as_bytes()));
    // The request and the response with its QR/UR files, by name and digest.
    assert!(report.artifacts_ok >= 4, "{}", report.artifacts_ok);
    let artifacts = parsed[3]["artifacts"].as_array().unwrap();
    assert_eq!(artifacts[0]["path"], "response.json");
    assert_eq!(parsed[0]["artifacts"][0]["path"], "request.json");

    let bytes = std::fs::read(dir.join("response.json")).unwrap();
    let Artifact::Response(file) = Artifact::parse(&bytes).unwrap() else {
        panic!("not a response file");
    };
    assert_eq!(file.online_transcript_head, sha256_hex(raw[2].as_bytes()));
    assert_eq!(parsed[3]["responseSha256"], sha256_hex(&bytes));
    assert!(stderr(&output).contains(&format!(
        "Transcript head  (witnesses: write down its first and last 8 digits)\n  {}",
        keyexport_shared::transport::group_hex(&report.head)
    )));

    let text = raw.join("\n");
    for (name, value) in c.sandbox.env() {
        if name != "DFNS_API_URL" {
            assert!(!text.contains(value.trim()), "{name} is in the transcript");
        }
    }
}

#[test]
fn a_refused_step_is_recorded_with_its_exit_code() {
    let c = ceremony("FROST:ed25519", SandboxConfig::default());
    c.run_ok();
    let again = c.new_folder("again");
    let output = submit(&c).arg("--out").arg(&again).output().unwrap();
    assert_eq!(output.status.code(), Some(5));
    let (_, parsed) = lines(&again);
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0]["step"], "request-read");
    assert_eq!(parsed[1]["step"], "preflight");
    assert_eq!(parsed[1]["outcome"]["status"], "failed");
    assert_eq!(parsed[1]["outcome"]["kind"], "refused");
    assert_eq!(parsed[1]["outcome"]["exitCode"], 5);
    assert!(
        transcript::verify(&again.join("transcript.jsonl"))
            .unwrap()
            .is_intact()
    );
    // A run refused before reading the request (outputs exist) writes nothing.
    let output = c.run();
    assert_eq!(output.status.code(), Some(5));
    assert_eq!(lines(c.dir.path()).1.len(), 4);
}
