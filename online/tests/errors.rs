//! One snapshot per error kind that a run against the sandbox can meet, and per variant
//! of the typed input, configuration, refusal and canary errors it can reach: the exact
//! exit code, `--json` error object and text report (insta snapshots in `tests/snapshots/`).
//! The progress printed before the error is left out (other tests check it); the temporary
//! folder, the sandbox's address, the key id and long hex values (public keys of a key
//! dealt for this run) change from run to run and are replaced by placeholders.

use sandbox::{FailStatus, Fault, Route, SandboxConfig};

use crate::common::{
    Asks, Ceremony, ceremony, ceremony_asking, online, submit, submit_process, write_batch_request,
};

/// Exit code, standard output, and standard error from its `error:` line on, of `cmd`,
/// with the run's variable parts replaced.
fn report(c: &Ceremony, cmd: &mut assert_cmd::Command) -> String {
    report_of(c, cmd.output().unwrap())
}

/// [`report`] of a `submit --request REQUEST --yes --json ARGS` (a batch's, say).
fn report_submit(c: &Ceremony, request: &std::path::Path, args: &[&str]) -> String {
    report_of(
        c,
        submit_process(&c.sandbox, request, args).output().unwrap(),
    )
}

/// [`report`] of a run's `output`.
pub(crate) fn report_of(c: &Ceremony, output: std::process::Output) -> String {
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error = stderr
        .find("error: ")
        .filter(|&at| at == 0 || stderr[..at].ends_with('\n'))
        .map_or(stderr.as_str(), |at| &stderr[at..]);
    let text = format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr (from the error on)\n{error}",
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    );
    let dir = c.dir.path().to_string_lossy().into_owned();
    let text = text.replace(&dir, "[DIR]").replace(&c.key_id, "[KEY]");
    long_hex_replaced(&text)
}

/// `text` with every run of 32 or more hex digits replaced by `[HEX]`.
fn long_hex_replaced(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for ch in text.chars().chain(std::iter::once('\n')) {
        if ch.is_ascii_hexdigit() {
            run.push(ch);
            continue;
        }
        out.push_str(if run.len() >= 32 { "[HEX]" } else { &run });
        run.clear();
        out.push(ch);
    }
    out.pop();
    out
}

fn plain() -> SandboxConfig {
    SandboxConfig::default()
}

#[test]
fn kind_usage() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let mut cmd = online(&c.sandbox);
    cmd.args(["submit", "--json", "--no-such-flag"]);
    insta::assert_snapshot!(report(&c, &mut cmd));
}

#[test]
fn kind_input() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    std::fs::write(&c.request, "{\"hello\": 1}\n").unwrap();
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

#[test]
fn kind_offline_secret() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    std::fs::write(&c.request, "age-encryption.org/v1\n-> scrypt c2FsdA 18\n").unwrap();
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

#[test]
fn kind_config() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let mut cmd = submit(&c);
    cmd.env_remove("DFNS_AUTH_TOKEN");
    insta::assert_snapshot!(report(&c, &mut cmd));
}

#[test]
fn kind_network() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let mut cmd = submit(&c);
    // A port nothing listens on: the preflight fails before anything is sent.
    cmd.env("DFNS_API_URL", "http://127.0.0.1:9");
    insta::assert_snapshot!(report(&c, &mut cmd));
}

#[test]
fn kind_refused() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    assert_eq!(submit(&c).output().unwrap().status.code(), Some(0));
    let mut cmd = submit(&c);
    cmd.arg("--out").arg(c.dir.path().join("again"));
    insta::assert_snapshot!(report(&c, &mut cmd));
}

#[test]
fn kind_dfns_refused() {
    let c = ceremony(
        "CGGMP24:secp256k1",
        plain().fault(Fault::MissingExportPermission),
    );
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

#[test]
fn kind_held_for_approval() {
    let c = ceremony("CGGMP24:secp256k1", plain().fault(Fault::PolicyHold));
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

#[test]
fn kind_response_check() {
    let c = ceremony("CGGMP24:secp256k1", plain().fault(Fault::WrongPublicKey));
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

#[test]
fn kind_export_uncertain() {
    let c = ceremony(
        "CGGMP24:secp256k1",
        plain().fault(Fault::FailOnce {
            status: FailStatus::Internal,
            route: Route::Export,
        }),
    );
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

/// [`report`] of a batch of the ceremony's key and a key Dfns does not know, one worker,
/// its ceremony id replaced.
fn report_batch(c: &Ceremony) -> String {
    let keys = [c.key_id.clone(), "key-unknown".to_owned()];
    let (_, request) = write_batch_request(c.dir.path(), &keys);
    let text = report_submit(c, &request, &["--parallel", "1"]);
    let ceremony_id = text
        .split(r#""ceremonyId":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    text.replace(&ceremony_id, "[CEREMONY]")
}

/// A batch prints its summary as its one JSON object; the error follows on stderr.
#[test]
fn kind_batch_incomplete() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let text = report_batch(&c);
    assert!(text.starts_with("exit code: Some(13)"), "{text}");
    insta::assert_snapshot!(text);
}

/// A batch with a key whose export may have reached Dfns ends uncertain (exit 8), whatever
/// else failed.
#[test]
fn batch_uncertain() {
    let c = ceremony(
        "CGGMP24:secp256k1",
        plain().fault(Fault::FailOnce {
            status: FailStatus::Internal,
            route: Route::Export,
        }),
    );
    let text = report_batch(&c);
    assert!(text.starts_with("exit code: Some(8)"), "{text}");
    insta::assert_snapshot!(text);
}

/// A batch with a saved response failing a check ends with exit 10, before its failed keys.
#[test]
fn batch_check_failed() {
    let c = ceremony("CGGMP24:secp256k1", plain().fault(Fault::WrongPublicKey));
    let text = report_batch(&c);
    assert!(text.starts_with("exit code: Some(10)"), "{text}");
    insta::assert_snapshot!(text);
}

/// A ceremony whose request asks for a canary (`init --canary`).
fn canary(config: SandboxConfig) -> Ceremony {
    let asks = Asks {
        canary: true,
        ..Asks::default()
    };
    ceremony_asking("CGGMP24:secp256k1", config, asks)
}

#[test]
fn kind_canary_permission() {
    let c = canary(plain().fault(Fault::MissingCreatePermission));
    insta::assert_snapshot!(report(&c, &mut submit(&c)));
}

/// A receipt given where no canary was exported (no `canary/response.json` beside the
/// request): refused before any call.
#[test]
fn kind_canary_unproven() {
    let c = canary(plain());
    let receipt = c.dir.path().join("canary-receipt.json");
    std::fs::write(&receipt, b"{}").unwrap();
    let mut cmd = submit(&c);
    cmd.arg("--canary-receipt").arg(&receipt);
    insta::assert_snapshot!(report(&c, &mut cmd));
    assert!(c.sandbox.requests().is_empty());
}

/// Each way an input can fail (all of kind `input`, exit 3, except the canary receipt's):
/// one snapshot each, run before any call to Dfns.
#[test]
fn input_errors() {
    use keyexport_shared::transport::{FrameOptions, encode_frames};

    let c = ceremony("CGGMP24:secp256k1", plain());
    let dir = c.dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let submit_of = |inputs: &[&std::path::Path]| {
        let mut cmd = online(&c.sandbox);
        cmd.args(["submit", "--yes", "--json"]);
        for input in inputs {
            cmd.arg("--request").arg(input);
        }
        cmd
    };
    let options = FrameOptions {
        fragment_len: 100,
        ..FrameOptions::default()
    };
    let frames = encode_frames(&std::fs::read(&c.request).unwrap(), &options).unwrap();
    assert!(frames.len() > 1);
    let one_frame = write("one-frame.ur.txt", frames[0].as_str().as_bytes());
    let bad_frame = write("bad.ur.txt", b"ur:bytes/1-3/not-bytewords\n");
    let other = write("other.json", b"{}");
    let missing = dir.join("missing.json");

    let cases: [(&str, assert_cmd::Command); 5] = [
        ("input_unreadable", submit_of(&[&missing])),
        ("input_several_files", submit_of(&[&c.request, &other])),
        ("input_mixed_carriers", submit_of(&[&c.request, &one_frame])),
        ("input_bad_frame", submit_of(&[&bad_frame])),
        ("input_incomplete_frames", submit_of(&[&one_frame])),
    ];
    for (name, mut cmd) in cases {
        insta::assert_snapshot!(name, report(&c, &mut cmd));
    }
    insta::assert_snapshot!("show_input", report(&c, &mut c.show(&missing)));
    insta::assert_snapshot!("show_request", report(&c, &mut c.show(&c.request)));
    assert!(c.sandbox.requests().is_empty());
}

/// A response file given as the request.
#[test]
fn input_not_a_request() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    assert_eq!(submit(&c).output().unwrap().status.code(), Some(0));
    let response = c.dir.path().join("response.json");
    insta::assert_snapshot!(report_submit(&c, &response, &[]));
}

/// A batch's journal that cannot be read, or is damaged before its last line: refused
/// before any call.
#[test]
fn input_journal() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let (_, request) = write_batch_request(c.dir.path(), &[c.key_id.clone(), "key-2".into()]);
    let responses = c.dir.path().join("responses");
    let journal = responses.join("journal.jsonl");
    std::fs::create_dir_all(&journal).unwrap();
    insta::assert_snapshot!("input_journal_unreadable", report_submit(&c, &request, &[]));
    std::fs::remove_dir(&journal).unwrap();
    std::fs::write(&journal, "{\"event\"\n{}\n").unwrap();
    insta::assert_snapshot!("input_journal_damaged", report_submit(&c, &request, &[]));
    assert!(c.sandbox.requests().is_empty());
}

/// Each way the configuration fails (kind `config`, exit 4): one snapshot each, found
/// before any call.
#[test]
fn config_errors() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let not_text = c.dir.path().join("token.bin");
    std::fs::write(&not_text, [0xff, 0xfe, 0x00]).unwrap();
    let missing = c.dir.path().join("missing-token");
    // `submit` without the variables in `removed`, with `args`.
    let run = |removed: &[&str], args: &[&std::ffi::OsStr]| {
        let mut cmd = submit(&c);
        for name in removed {
            cmd.env_remove(name);
        }
        cmd.args(args);
        cmd
    };
    let key = ["DFNS_PRIVATE_KEY", "DFNS_PRIVATE_KEY_FILE"];
    let no_credential = ["DFNS_CRED_ID", key[0], key[1]];
    let mut several = run(&["DFNS_AUTH_TOKEN", no_credential[0], key[0], key[1]], &[]);
    several.env("DFNS_API_URL", "ftp://api.example");
    let token_file =
        |path: &std::path::Path| run(&[], &["--auth-token-file".as_ref(), path.as_ref()]);
    let cases = [
        ("config_several", several),
        (
            "config_proxy",
            run(&[], &["--proxy".as_ref(), "http://[::1".as_ref()]),
        ),
        ("config_token_file_unreadable", token_file(&missing)),
        ("config_token_file_not_text", token_file(&not_text)),
        ("config_no_credential_id", run(&["DFNS_CRED_ID"], &[])),
        ("config_no_credential_key", run(&key, &[])),
        ("config_no_credential", run(&no_credential, &[])),
    ];
    for (name, mut cmd) in cases {
        insta::assert_snapshot!(name, report(&c, &mut cmd));
    }
    assert!(c.sandbox.requests().is_empty());
}

/// Refusals of a single export before it is sent (kind `refused`, exit 5): the output
/// folder, the canary flags, the request's schemes, the confirmation, the transcript.
#[test]
fn refused_single() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let dir = c.dir.path();
    let taken = c.new_folder("taken");
    std::fs::write(taken.join("response.json"), b"{}").unwrap();
    let blocked = c.new_folder("blocked");
    std::fs::create_dir(blocked.join("transcript.jsonl")).unwrap();
    let under_a_file = dir.join("request.json").join("out");
    let with = |args: &[&std::ffi::OsStr]| {
        let mut cmd = submit(&c);
        cmd.args(args);
        cmd
    };
    let mut no_yes = online(&c.sandbox);
    no_yes
        .args(["submit", "--json", "--request"])
        .arg(&c.request);
    let cases = [
        (
            "refused_folder_unwritable",
            with(&["--out".as_ref(), under_a_file.as_ref()]),
        ),
        (
            "refused_outputs_exist",
            with(&["--out".as_ref(), taken.as_ref()]),
        ),
        (
            "refused_canary_flags_without_canary",
            with(&["--skip-canary".as_ref()]),
        ),
        (
            "refused_transcript_unwritable",
            with(&["--out".as_ref(), blocked.as_ref()]),
        ),
        ("refused_no_terminal", no_yes),
    ];
    for (name, mut cmd) in cases {
        insta::assert_snapshot!(name, report(&c, &mut cmd));
    }
    let ed25519 = c.new_folder("ed25519");
    let (_, request) =
        crate::common::write_request(&ed25519, &c.key_id, vec!["FROST:ed25519".parse().unwrap()]);
    insta::assert_snapshot!(
        "refused_scheme_not_listed",
        report_submit(&c, &request, &[])
    );
    assert!(c.sandbox.requests().iter().all(|r| r.method == "GET"));
}

/// Refusals of a batch before anything is sent: its folder, its journal, the confirmation,
/// and a canary batch whose first key cannot be exported.
#[test]
fn refused_batch() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let keys = [c.key_id.clone(), "key-2".to_owned()];
    let (_, request) = write_batch_request(c.dir.path(), &keys);
    let under_a_file = request.join("responses");
    let out = |path: &std::path::Path| vec!["--out".to_owned(), path.display().to_string()];
    let args = out(&under_a_file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    insta::assert_snapshot!(
        "refused_responses_unwritable",
        report_submit(&c, &request, &args)
    );
    let other = c.new_folder("other");
    let start = r#"{"event":"start","ceremonyId":"C-OTHER","requestSha256":"aa","keys":2,"#;
    std::fs::write(
        other.join("journal.jsonl"),
        format!("{start}\"at\":\"t\",\"tool\":\"x\"}}\n"),
    )
    .unwrap();
    let args = out(&other);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    insta::assert_snapshot!(
        "refused_journal_of_another_request",
        report_submit(&c, &request, &args)
    );
    let mut no_yes = online(&c.sandbox);
    no_yes.args(["submit", "--json", "--request"]).arg(&request);
    insta::assert_snapshot!("refused_batch_no_terminal", report(&c, &mut no_yes));
    assert!(c.sandbox.requests().iter().all(|r| r.method == "GET"));
}

/// A canary request's refusals and unproven canaries before the canary is exported: the
/// canary folder, and the saved canary response that a receipt is checked against.
#[test]
fn canary_before_export() {
    let c = canary(plain());
    let dir = c.dir.path();
    let receipt = dir.join("canary-receipt.json");
    std::fs::write(&receipt, b"{}").unwrap();
    let folder = dir.join("canary");
    let response = folder.join("response.json");
    let with_receipt = || {
        let mut cmd = submit(&c);
        cmd.arg("--canary-receipt").arg(&receipt);
        cmd
    };
    std::fs::write(&folder, b"").unwrap();
    insta::assert_snapshot!(
        "refused_canary_folder_unwritable",
        report(&c, &mut submit(&c))
    );
    std::fs::remove_file(&folder).unwrap();
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("create-held.json"), b"{}").unwrap();
    insta::assert_snapshot!("refused_canary_folder_taken", report(&c, &mut submit(&c)));
    std::fs::create_dir(&response).unwrap();
    insta::assert_snapshot!(
        "unproven_canary_response_unreadable",
        report(&c, &mut with_receipt())
    );
    std::fs::remove_dir(&response).unwrap();
    std::fs::write(&response, b"{}").unwrap();
    insta::assert_snapshot!(
        "unproven_canary_response_unparsable",
        report(&c, &mut with_receipt())
    );
    std::fs::copy(&c.request, &response).unwrap();
    insta::assert_snapshot!(
        "unproven_not_a_canary_response",
        report(&c, &mut with_receipt())
    );
    assert!(c.sandbox.requests().iter().all(|r| r.method == "GET"));
}

/// After the canary's export: a receipt that is not one, and another file of this tool
/// given as the receipt.
#[test]
fn canary_receipt_refused() {
    let c = canary(plain());
    assert_eq!(submit(&c).output().unwrap().status.code(), Some(0));
    let dir = c.dir.path();
    let receipt = dir.join("canary-receipt.json");
    std::fs::write(&receipt, br#"{"hello": 1}"#).unwrap();
    let with_receipt = |receipt: &std::path::Path| {
        let mut cmd = submit(&c);
        cmd.arg("--canary-receipt").arg(receipt);
        report(&c, &mut cmd)
    };
    insta::assert_snapshot!("unproven_receipt_refused", with_receipt(&receipt));
    insta::assert_snapshot!("unproven_not_a_receipt", with_receipt(&c.request));
}

/// A policy holds the canary key's creation, or its export (kind `held-for-approval`).
#[test]
fn canary_held() {
    let c = canary(plain().fault(Fault::CreateKeyHeld));
    insta::assert_snapshot!("canary_held_create", report(&c, &mut submit(&c)));
    let c = canary(plain().fault(Fault::PolicyHold));
    let text = report(&c, &mut submit(&c));
    let canary_id = c
        .sandbox
        .keys()
        .into_iter()
        .map(|k| k.id)
        .find(|id| *id != c.key_id)
        .unwrap();
    insta::assert_snapshot!("canary_held_export", text.replace(&canary_id, "[CANARY]"));
}

/// A canary batch whose first key (of which the canary is made) is already exported.
#[test]
fn refused_first_key_not_exportable() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    c.run_ok();
    let keys = [c.key_id.clone(), "key-2".to_owned()];
    let written = crate::common::Written::batch(&c.new_folder("batch"), &keys, true);
    let text = report_submit(&c, &written.path, &[]);
    insta::assert_snapshot!(text);
    assert_eq!(c.sandbox.keys().len(), 1, "a canary key was created");
}
