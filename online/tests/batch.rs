//! Batch submit (issue 10): 50 keys of every scheme through the sandbox, with an already
//! exported key, an unknown key id, a 500 and a 429 on the export, a run killed halfway and
//! resumed, and the uncertain key re-sent only on request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use keyexport_shared::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::files::{Artifact, CeremonyId, KeyId};
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::scheme::Scheme;
use keyexport_shared::wire::ExportRequestBody;
use sandbox::{FailStatus, Fault, KeySpec, Route, Sandbox, SandboxConfig};
use serde_json::Value;

use crate::common::*;

/// Writes a batch request for `key_ids` in `dir`; returns its decryption key and path.
fn write_batch_request(dir: &Path, key_ids: &[String]) -> (DecryptionKey, PathBuf) {
    let decryption_key = DecryptionKey::generate();
    let file = BatchRequestFile::new(
        CeremonyId::generate(),
        key_ids.iter().map(|id| KeyId::new(id).unwrap()).collect(),
        ExportRequestBody {
            encryption_key: decryption_key.encryption_key(),
            supported_schemes: Scheme::all(),
        },
        "2026-01-01T00:00:00Z".into(),
        "test".into(),
    );
    let path = dir.join("request.json");
    std::fs::write(&path, file.to_bytes()).unwrap();
    (decryption_key, path)
}

/// `submit --request R --yes --json ARGS` as a std command (so it can be killed).
fn submit_process(sandbox: &Sandbox, request: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("keyexport-online"));
    for name in [
        "DFNS_API_URL",
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "DFNS_PRIVATE_KEY_FILE",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(sandbox.env())
        .arg("submit")
        .arg("--request")
        .arg(request)
        .args(["--yes", "--json"])
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn response_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".response.json"))
                .count()
        })
        .unwrap_or(0)
}

fn statuses(summary: &Value) -> HashMap<String, (String, String)> {
    summary["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keyId"].as_str().unwrap().to_owned(),
                (
                    k["status"].as_str().unwrap().to_owned(),
                    k["kind"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect()
}

/// Successful exports the sandbox carried out (HTTP 200 on the export route).
fn exports_done(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/export") && r.status == 200)
        .count()
}

#[test]
fn fifty_keys_with_faults_a_kill_and_a_resume() {
    let schemes = Scheme::all();
    let mut specs: Vec<KeySpec> = (0..48)
        .map(|i| {
            let mut spec = KeySpec::new(schemes[i % schemes.len()]);
            spec.id = Some(format!("key-b{i:02}"));
            spec
        })
        .collect();
    let mut done = KeySpec::new(schemes[0]);
    done.id = Some("key-exported".into());
    done.exported = true;
    specs.push(done);
    // The first export is answered 500 (unprocessed, but the client cannot know: uncertain),
    // the second 429 with Retry-After (retried after the wait, then exported).
    let config = SandboxConfig::with_keys(specs)
        .fault(Fault::FailOnce {
            status: FailStatus::Internal,
            route: Route::Export,
        })
        .fault(Fault::FailOnce {
            status: FailStatus::RateLimited,
            route: Route::Export,
        });
    let sandbox = Sandbox::start(config).unwrap();
    let mut key_ids: Vec<String> = (0..48).map(|i| format!("key-b{i:02}")).collect();
    key_ids.insert(10, "key-exported".into());
    key_ids.insert(20, "key-unknown".into());
    assert_eq!(key_ids.len(), 50);
    let dir = tempfile::tempdir().unwrap();
    let (decryption_key, request) = write_batch_request(dir.path(), &key_ids);
    let responses = dir.path().join("responses");

    // Run 1, paced (1200 calls a minute: 4 keys a second), killed once 10 responses are saved.
    let mut child = submit_process(&sandbox, &request, &["--rate", "1200"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while response_files(&responses) < 10 {
        assert!(Instant::now() < deadline, "run 1 saved no responses");
        assert!(child.try_wait().unwrap().is_none(), "run 1 ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved_by_run_1 = response_files(&responses);
    assert!(
        saved_by_run_1 < 47,
        "the kill came too late to test resuming"
    );

    // Run 2, unlimited: resumes, skips what is saved, never re-sends the uncertain key.
    let output = submit_process(&sandbox, &request, &["--rate", "unlimited"])
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let status = statuses(&summary);
    assert_eq!(status.len(), 50);
    assert_eq!(
        status["key-exported"],
        ("failed".into(), "already-exported".into())
    );
    assert_eq!(status["key-unknown"], ("failed".into(), "not-found".into()));
    // key-b00 met the 500: uncertain, reported, not re-sent.
    assert_eq!(status["key-b00"], ("uncertain".into(), "uncertain".into()));
    assert!(status.values().filter(|(s, _)| s == "skipped").count() >= saved_by_run_1);
    // A key in flight at the kill may be uncertain too; any other key is saved now.
    let uncertain: Vec<&String> = status
        .iter()
        .filter(|(_, (s, _))| s == "uncertain")
        .map(|(k, _)| k)
        .collect();
    assert!(uncertain.len() <= 2, "{uncertain:?}");
    for id in key_ids.iter().filter(|id| id.starts_with("key-b")) {
        let path = responses.join(response_file_name(&KeyId::new(id).unwrap()));
        let expect_saved = !uncertain.contains(&id);
        assert_eq!(path.exists(), expect_saved, "{id}");
    }
    // Nothing was exported twice (the sandbox would answer 409) and every export the
    // sandbox carried out is saved, except one sent by the killed run.
    assert!(
        !sandbox
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/export") && r.status == 409)
    );
    let saved = response_files(&responses);
    assert!(exports_done(&sandbox) == saved || exports_done(&sandbox) == saved + 1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("ETA"),
        "progress is shown"
    );

    // Run 3, --retry-uncertain: key-b00 is not exported at Dfns, so it is sent again.
    let output = submit_process(
        &sandbox,
        &request,
        &["--rate", "unlimited", "--retry-uncertain"],
    )
    .output()
    .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let status = statuses(&summary);
    assert_eq!(status["key-b00"].0, "exported", "{}", stderr(&output));
    for (id, (state, kind)) in &status {
        if state == "uncertain" {
            // Only a key the killed run sent: Dfns shows it exported, its shares are lost.
            assert_eq!(kind, "exported-unsaved", "{id}");
            assert!(is_exported(&sandbox, id));
        }
    }

    // Every saved response rebuilds the very key the sandbox split, on every scheme.
    let specs: HashMap<String, Scheme> = sandbox
        .keys()
        .into_iter()
        .map(|k| (k.id, k.scheme))
        .collect();
    let mut rebuilt = 0;
    for id in key_ids.iter().filter(|id| id.starts_with("key-b")) {
        let path = responses.join(response_file_name(&KeyId::new(id).unwrap()));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Artifact::Response(file) = Artifact::parse(&bytes).unwrap() else {
            panic!("{id}: not a response file");
        };
        assert_eq!(file.key_id.as_str(), id);
        assert_eq!(
            file.request_sha256,
            keyexport_shared::files::sha256_hex(&std::fs::read(&request).unwrap())
        );
        let key = reconstruct(&file.export_response().unwrap(), &decryption_key).unwrap();
        assert_eq!(key.scheme, specs[id]);
        assert_eq!(
            key.private_key.to_hex().as_str(),
            sandbox.private_key_hex(id).unwrap().as_str()
        );
        rebuilt += 1;
    }
    assert!(rebuilt >= 47, "{rebuilt}");
}

#[test]
fn a_refused_token_stops_the_batch_and_lists_every_key() {
    let sandbox = Sandbox::start(SandboxConfig::with_keys(vec![
        KeySpec::new("CGGMP24:secp256k1".parse().unwrap()),
        KeySpec::new("FROST:ed25519".parse().unwrap()),
    ]))
    .unwrap();
    let ids: Vec<String> = sandbox.keys().into_iter().map(|k| k.id).collect();
    let dir = tempfile::tempdir().unwrap();
    let (_, request) = write_batch_request(dir.path(), &ids);
    let output = submit_process(&sandbox, &request, &[])
        .env("DFNS_AUTH_TOKEN", sandbox.expired_token())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["status"], "stopped");
    assert_eq!(summary["error"]["kind"], "dfns-refused");
    let status = statuses(&summary);
    assert_eq!(status[&ids[0]], ("failed".into(), "unauthorized".into()));
    assert_eq!(status[&ids[1]].0, "not-attempted");
    assert_eq!(export_calls(&sandbox), 0);
}

#[test]
fn a_folder_of_another_request_is_refused() {
    let sandbox = Sandbox::start(SandboxConfig::with_keys(vec![
        KeySpec::new("CGGMP24:secp256k1".parse().unwrap()),
        KeySpec::new("KU23:stark".parse().unwrap()),
    ]))
    .unwrap();
    let ids: Vec<String> = sandbox.keys().into_iter().map(|k| k.id).collect();
    let dir = tempfile::tempdir().unwrap();
    let (_, request) = write_batch_request(dir.path(), &ids);
    let output = submit_process(&sandbox, &request, &["--rate", "unlimited"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    // A new request for the same keys, pointed at the same folder.
    let (_, other) = write_batch_request(&dir.path().join("responses"), &ids);
    let output = submit_process(&sandbox, &other, &[])
        .arg("--out")
        .arg(dir.path().join("responses"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(stderr(&output).contains("belongs to another request"));
    assert_eq!(export_calls(&sandbox), 2);
}
