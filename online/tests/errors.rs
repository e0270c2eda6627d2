//! One snapshot per error kind that a run against the sandbox can meet: the exact exit
//! code, `--json` error object and text report (insta snapshots in `tests/snapshots/`).
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

/// A batch prints its summary as its one JSON object; the error follows on stderr.
#[test]
fn kind_batch_incomplete() {
    let c = ceremony("CGGMP24:secp256k1", plain());
    let keys = [c.key_id.clone(), "key-unknown".to_owned()];
    let (_, request) = write_batch_request(c.dir.path(), &keys);
    let text = report_submit(&c, &request, &["--parallel", "1"]);
    assert!(text.starts_with("exit code: Some(13)"), "{text}");
    let ceremony_id = text
        .split(r#""ceremonyId":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    insta::assert_snapshot!(text.replace(&ceremony_id, "[CEREMONY]"));
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
