//! Batch submit: 50 keys of every scheme through the sandbox, with an already
//! exported key, an unknown key id, a 500 and a 429 on the export, a run killed halfway and
//! resumed, and the uncertain key re-sent only on request; the same with several workers,
//! whose summary matches the serial run's; and Ctrl-C (once: graceful; twice: at once),
//! each followed by a rerun that re-sends nothing.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use keyexport_shared::files::batch::response_file_name;
use keyexport_shared::files::{Artifact, KeyId};
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::scheme::Scheme;
use sandbox::{FailStatus, Fault, KeySpec, Route, Sandbox, SandboxConfig};
use serde_json::Value;

use crate::common::*;

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
    specs.push(exported_key());
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
    let mut key_ids: Vec<String> = (0..48).map(|i| format!("key-b{i:02}")).collect();
    key_ids.insert(10, "key-exported".into());
    key_ids.insert(20, "key-unknown".into());
    assert_eq!(key_ids.len(), 50);
    let batch = BatchCeremony::new(config, key_ids);
    let BatchCeremony {
        sandbox,
        key_ids,
        decryption_key,
        request,
        responses,
        ..
    } = &batch;

    // One key at a time here, so which key meets which fault is known; the same with
    // several workers is `parallel_workers_with_faults_a_kill_and_a_resume`.
    // Run 1, paced (1200 calls a minute: 4 keys a second), killed once 10 responses are saved.
    kill_once_saved(&batch, &["--rate", "1200", "--parallel", "1"], 10);
    let saved_by_run_1 = response_files(responses);
    assert!(
        saved_by_run_1 < 47,
        "the kill came too late to test resuming"
    );

    // Run 2, unlimited: resumes, skips what is saved, never re-sends the uncertain key.
    let output = batch.run(&["--rate", "unlimited", "--parallel", "1"]);
    let summary = json_out(&output);
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let status = statuses(&summary);
    assert_eq!(status.len(), 50);
    assert_eq!(status["key-exported"], ("failed".into(), "refused".into()));
    assert_eq!(
        status["key-unknown"],
        ("failed".into(), "dfns-refused".into())
    );
    // key-b00 met the 500: uncertain, reported, not re-sent.
    assert_eq!(
        status["key-b00"],
        ("uncertain".into(), "export-uncertain".into())
    );
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
    let saved = response_files(responses);
    assert!(exports_done(sandbox) == saved || exports_done(sandbox) == saved + 1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("ETA"),
        "progress is shown"
    );

    // Run 3, --retry-uncertain: key-b00 is not exported at Dfns, so it is sent again.
    let output = batch.run(&["--rate", "unlimited", "--retry-uncertain"]);
    let status = statuses(&json_out(&output));
    assert_eq!(status["key-b00"].0, "exported", "{}", stderr(&output));
    for (id, (state, kind)) in &status {
        if state == "uncertain" {
            // Only a key the killed run sent: Dfns shows it exported, its shares are lost.
            assert_eq!(kind, "export-uncertain", "{id}");
            assert!(is_exported(sandbox, id));
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
            keyexport_shared::files::sha256_hex(&std::fs::read(request).unwrap())
        );
        let key = reconstruct(&file.export_response().unwrap(), decryption_key).unwrap();
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
    let batch = BatchCeremony::of(vec![
        KeySpec::new("CGGMP24:secp256k1".parse().unwrap()),
        KeySpec::new("FROST:ed25519".parse().unwrap()),
    ]);
    let ids = &batch.key_ids;
    // One worker: the second key is not started once the first met the refusal.
    let output = batch
        .submit(&["--parallel", "1"])
        .env("DFNS_AUTH_TOKEN", batch.sandbox.expired_token())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let summary = json_out(&output);
    assert_eq!(summary["status"], "stopped");
    assert_eq!(summary["error"]["kind"], "dfns-refused");
    // The error that stopped the batch has the one `--json` error shape.
    insta::with_settings!({filters => vec![(ids[0].as_str(), "[KEY_ID]")]}, {
        insta::assert_json_snapshot!("batch_stopped_error", summary["error"]);
    });
    let status = statuses(&summary);
    assert_eq!(status[&ids[0]], ("failed".into(), "dfns-refused".into()));
    assert_eq!(status[&ids[1]].0, "not-attempted");
    assert_eq!(export_calls(&batch.sandbox), 0);
}

#[test]
fn a_folder_of_another_request_is_refused() {
    let batch = BatchCeremony::of(vec![
        KeySpec::new("CGGMP24:secp256k1".parse().unwrap()),
        KeySpec::new("KU23:stark".parse().unwrap()),
    ]);
    let output = batch.run(&["--rate", "unlimited"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // A new request for the same keys, pointed at the same folder.
    let (_, other) = write_batch_request(&batch.responses, &batch.key_ids);
    let output = batch
        .submit_request(&other, &[])
        .arg("--out")
        .arg(&batch.responses)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(stderr(&output).contains("belongs to another request"));
    assert_eq!(export_calls(&batch.sandbox), 2);
}

/// `count` keys of every scheme in turn, with ids `PREFIX-NN`.
fn specs(prefix: &str, count: usize) -> Vec<KeySpec> {
    let schemes = Scheme::all();
    (0..count)
        .map(|i| {
            let mut spec = KeySpec::new(schemes[i % schemes.len()]);
            spec.id = Some(format!("{prefix}-{i:02}"));
            spec
        })
        .collect()
}

/// A key with the id `key-exported` that Dfns shows exported already.
fn exported_key() -> KeySpec {
    let mut spec = KeySpec::new(Scheme::all()[0]);
    spec.id = Some("key-exported".into());
    spec.exported = true;
    spec
}

/// The key id of an export path (`/keys/{id}/export`).
fn export_key_id(path: &str) -> Option<&str> {
    path.strip_prefix("/keys/")?.strip_suffix("/export")
}

/// Per key, the exports the sandbox carried out or may have (every answer but 429, which
/// refuses before processing): never more than one if nothing is re-sent.
fn sends_per_key(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut sends = HashMap::new();
    for r in sandbox.requests() {
        if let Some(id) = export_key_id(&r.path)
            && r.method == "POST"
            && r.status != 429
        {
            *sends.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    sends
}

fn assert_nothing_sent_twice(sandbox: &Sandbox) {
    for (id, sends) in sends_per_key(sandbox) {
        assert_eq!(sends, 1, "{id}: its export was sent {sends} times");
    }
}

/// Every line of the journal is one whole event of a known kind.
fn assert_journal_parses(responses: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(responses.join("journal.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("damaged journal line ({e}): {line}"));
            let kind = event["event"].as_str().unwrap_or_default();
            assert!(
                [
                    "start",
                    "sending",
                    "not-sent",
                    "exported",
                    "failed",
                    "uncertain"
                ]
                .contains(&kind),
                "{line}"
            );
            event
        })
        .collect()
}

/// The key ids of the summary, in its order.
fn summary_order(summary: &Value) -> Vec<String> {
    summary["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn parallel_workers_with_faults_a_kill_and_a_resume() {
    let config = SandboxConfig::with_keys(specs("key-p", 40))
        .fault(Fault::FailOnce {
            status: FailStatus::Internal,
            route: Route::Export,
        })
        .fault(Fault::FailOnce {
            status: FailStatus::RateLimited,
            route: Route::Export,
        });
    let key_ids: Vec<String> = (0..40).map(|i| format!("key-p-{i:02}")).collect();
    let batch = BatchCeremony::new(config, key_ids);
    let BatchCeremony {
        sandbox,
        key_ids,
        decryption_key,
        responses,
        ..
    } = &batch;

    // Run 1: four workers, paced, killed once 10 responses are saved.
    kill_once_saved(&batch, &["--rate", "1200", "--parallel", "4"], 10);
    assert!(response_files(responses) < 36, "the kill came too late");
    assert_journal_parses(responses);

    // Run 2: four workers, unlimited.
    let output = batch.run(&["--rate", "unlimited", "--parallel", "4"]);
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let summary = json_out(&output);
    assert_eq!(summary_order(&summary), *key_ids, "the request's order");
    let status = statuses(&summary);
    // The key whose export met the 500 (whichever worker sent first) is uncertain.
    let failed_500: Vec<String> = sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 500)
        .filter_map(|r| export_key_id(&r.path).map(str::to_owned))
        .collect();
    assert_eq!(failed_500.len(), 1);
    assert_eq!(
        status[&failed_500[0]],
        ("uncertain".into(), "export-uncertain".into())
    );
    // The 429 was waited out and its key exported.
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|r| r.status == 429 && export_key_id(&r.path).is_some())
    );
    // Besides it, only keys the killed run had in flight (at most its 4 workers) are
    // uncertain; every other key is saved, and nothing was sent twice.
    let uncertain: Vec<&String> = status
        .iter()
        .filter(|(_, (s, _))| s == "uncertain")
        .map(|(k, _)| k)
        .collect();
    assert!(uncertain.len() <= 5, "{uncertain:?}");
    for id in key_ids {
        let saved = responses
            .join(response_file_name(&KeyId::new(id).unwrap()))
            .exists();
        assert_eq!(saved, !uncertain.contains(&id), "{id}");
        if saved {
            assert!(["exported", "skipped"].contains(&status[id].0.as_str()));
        }
    }
    assert_nothing_sent_twice(sandbox);
    let events = assert_journal_parses(responses);
    // Every key's `sending` comes before its `exported`, whatever the interleaving.
    for id in key_ids {
        let of_key: Vec<&str> = events
            .iter()
            .filter(|e| e["keyId"] == id.as_str())
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        if let Some(at) = of_key.iter().position(|e| *e == "exported") {
            assert!(of_key[..at].contains(&"sending"), "{id}: {of_key:?}");
        }
    }

    // Every saved response rebuilds the key the sandbox split.
    for id in key_ids.iter().filter(|id| !uncertain.contains(id)) {
        let bytes =
            std::fs::read(responses.join(response_file_name(&KeyId::new(id).unwrap()))).unwrap();
        let Artifact::Response(file) = Artifact::parse(&bytes).unwrap() else {
            panic!("{id}: not a response file");
        };
        let key = reconstruct(&file.export_response().unwrap(), decryption_key).unwrap();
        assert_eq!(
            key.private_key.to_hex().as_str(),
            sandbox.private_key_hex(id).unwrap().as_str()
        );
    }
}

/// A whole run with `--parallel N`: each key's (id, status, kind), in the summary's order.
fn whole_run(parallel: &str) -> Vec<(String, String, String)> {
    let mut keys = specs("key-s", 20);
    keys.push(exported_key());
    let config = SandboxConfig::with_keys(keys).fault(Fault::FailOnce {
        status: FailStatus::RateLimited,
        route: Route::Export,
    });
    let mut key_ids: Vec<String> = (0..20).map(|i| format!("key-s-{i:02}")).collect();
    key_ids.insert(5, "key-exported".into());
    key_ids.insert(12, "key-unknown".into());
    let batch = BatchCeremony::new(config, key_ids);
    let output = batch.run(&["--rate", "unlimited", "--parallel", parallel]);
    assert_eq!(output.status.code(), Some(13), "{}", stderr(&output));
    assert_nothing_sent_twice(&batch.sandbox);
    assert_eq!(exports_done(&batch.sandbox), 20);
    assert_journal_parses(&batch.responses);
    json_out(&output)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let text = |field: &str| k[field].as_str().unwrap_or_default().to_owned();
            (text("keyId"), text("status"), text("kind"))
        })
        .collect()
}

#[test]
fn parallel_and_serial_runs_give_the_same_summary() {
    let serial = whole_run("1");
    assert_eq!(
        serial.iter().filter(|(_, s, _)| s == "exported").count(),
        20
    );
    assert_eq!(whole_run("6"), serial);
}

/// Waits until `count` responses are saved in `dir` while `child` runs.
fn wait_for_responses(child: &mut std::process::Child, dir: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while response_files(dir) < count {
        assert!(Instant::now() < deadline, "no responses saved");
        assert!(child.try_wait().unwrap().is_none(), "submit ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `submit ARGS` and kills it (SIGKILL: no chance to finish anything) once `count`
/// responses are saved.
fn kill_once_saved(batch: &BatchCeremony, args: &[&str], count: usize) {
    let mut child = batch
        .submit(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_responses(&mut child, &batch.responses, count);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A sandbox whose exports answer late, with a batch request for its 12 keys.
fn slow_batch() -> BatchCeremony {
    let config = SandboxConfig::with_keys(specs("key-c", 12)).fault(Fault::Delay {
        route: Route::Export,
        delay: Duration::from_millis(300),
    });
    BatchCeremony::new(config, (0..12).map(|i| format!("key-c-{i:02}")).collect())
}

/// A submit with two workers, running, once `saved` responses are saved.
fn submit_running(batch: &BatchCeremony, saved: usize) -> std::process::Child {
    let mut child = spawn(&mut batch.submit(&["--rate", "unlimited", "--parallel", "2"]));
    wait_for_responses(&mut child, &batch.responses, saved);
    child
}

#[test]
fn ctrl_c_lets_the_exports_in_flight_finish_and_the_rerun_resumes() {
    let batch = slow_batch();
    let BatchCeremony {
        sandbox,
        responses,
        key_ids,
        ..
    } = &batch;
    let child = submit_running(&batch, 2);
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted: run the same command again to resume"),
        "{}",
        stderr(&output)
    );
    let summary = json_out(&output);
    assert_eq!(summary["status"], "interrupted");
    assert_eq!(summary_order(&summary), *key_ids);
    let status = statuses(&summary);
    let count = |wanted: &str| status.values().filter(|(s, _)| s == wanted).count();
    let exported = count("exported");
    assert!(count("not-attempted") >= 1, "{status:?}");
    assert_eq!(exported + count("not-attempted"), 12, "{status:?}");
    // Every export the sandbox carried out finished and was saved.
    assert_eq!(exports_done(sandbox), exported);
    assert_eq!(response_files(responses), exported);
    assert_journal_parses(responses);

    // The same command resumes: the saved keys are skipped, nothing is sent again.
    let output = batch.run(&["--rate", "unlimited"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let status = statuses(&json_out(&output));
    assert_eq!(
        status.values().filter(|(s, _)| s == "skipped").count(),
        exported
    );
    assert_eq!(
        status.values().filter(|(s, _)| s == "exported").count(),
        12 - exported
    );
    assert_eq!(exports_done(sandbox), 12);
    assert_eq!(export_calls(sandbox), 12);
    assert_nothing_sent_twice(sandbox);
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_nothing_is_re_sent() {
    let batch = slow_batch();
    let BatchCeremony {
        sandbox,
        responses,
        key_ids,
        ..
    } = &batch;
    let child = submit_running(&batch, 1);
    ctrl_c(&child);
    std::thread::sleep(Duration::from_millis(20));
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    // No summary: the process ended at once.
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_journal_parses(responses);

    // The rerun skips what is saved, lists what was in flight as uncertain, re-sends nothing.
    let output = batch.run(&["--rate", "unlimited"]);
    let summary = json_out(&output);
    let status = statuses(&summary);
    for id in key_ids {
        let saved = responses
            .join(response_file_name(&KeyId::new(id).unwrap()))
            .exists();
        match status[id].0.as_str() {
            // In flight at the second Ctrl-C: sent (or about to be), never re-sent.
            "uncertain" => assert!(!saved, "{id}"),
            "skipped" | "exported" => assert!(saved, "{id}"),
            other => panic!("{id}: {other}"),
        }
    }
    let uncertain = status.values().filter(|(s, _)| s == "uncertain").count();
    let expected = if uncertain > 0 { Some(8) } else { Some(0) };
    assert_eq!(output.status.code(), expected, "{}", stderr(&output));
    assert_nothing_sent_twice(sandbox);
}
