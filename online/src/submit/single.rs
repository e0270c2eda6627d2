//! `submit` for one key: validate the request, check the key, confirm, export once, save
//! the response before anything else, then write its QR/UR frames.
//!
//! Order matters (runbook): nothing touches the network until the request,
//! configuration and output folder are checked; the export is sent once; the raw body
//! is persisted atomically the moment it arrives, and printed to stdout if that fails;
//! only then is it checked (shape, public key against the preflight) and rendered.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use keyexport_shared::display::Escaped;
use keyexport_shared::files::{Artifact, RequestFile, ResponseFile, sha256_hex};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::transport::{FrameOptions, group_hex};
use keyexport_shared::wire::ExportResponse;
use serde_json::json;

use crate::airgap::{self, FrameFiles};
use crate::cli::SubmitArgs;
use crate::connect::{Connection, connect};
use crate::dfns::keys::{ExportOutcome, KeyInfo, export_key, get_key};
use crate::error::OnlineError;
use crate::export::{announce_retry, check_public_key, note, now_rfc3339, tool};
use crate::input::{self, Received};
use crate::interrupt::{BeforeExport, Interrupt};
use crate::transcript::Transcript;

/// The response file's name in the output folder.
pub const RESPONSE_FILE: &str = "response.json";
/// Where a 202 (policy hold) body is kept.
pub const HELD_FILE: &str = "export-held.json";
const STEM: &str = "response";

/// Runs `submit` for the single-key request in `received`. Once the output folder is
/// known, every step is appended to its transcript, and a failure after that too.
pub fn run(
    args: &SubmitArgs,
    received: &Received,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let mut transcript: Option<Transcript> = None;
    let mut saved: Vec<serde_json::Value> = Vec::new();
    let result = execute(args, received, &mut transcript, &mut saved, before);
    if let (Err(error), Some(transcript)) = (&result, transcript.as_mut()) {
        transcript.record_failure(error, saved);
    }
    result
}

fn execute(
    args: &SubmitArgs,
    received: &Received,
    transcript_slot: &mut Option<Transcript>,
    saved: &mut Vec<serde_json::Value>,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    // 1. Everything that can be checked offline, before any traffic.
    let request = match input::parse(received)? {
        Artifact::Request(request) => request,
        other => {
            return Err(OnlineError::Input(format!(
                "{} is {}, not a request file from `keyexport-offline init`",
                received.first.display(),
                other.describe()
            )));
        }
    };
    let request_sha256 = sha256_hex(&received.bytes);
    let out = output_dir(args, &received.first)?;
    check_outputs_free(&out)?;
    let transcript = transcript_slot.insert(Transcript::in_dir(&out));
    // The configuration is checked before anything is recorded or printed as a step: a
    // run that cannot call Dfns gets no transcript head for the witness to write down.
    transcript.working_on("preflight");
    let json_mode = args.json;
    let Connection { client, credential } = connect(&args.dfns, Box::new(announce_retry))?;
    let mut request_artifacts = Vec::new();
    // The request file itself, when it holds exactly the bytes read (not for QR images).
    if std::fs::read(&received.first).is_ok_and(|b| sha256_hex(&b) == request_sha256) {
        request_artifacts.push(transcript.artifact("request", &received.first, &received.bytes));
    }
    let head = transcript.record(
        "request-read",
        json!({
            "ceremonyId": request.ceremony_id.as_str(),
            "keyId": request.key_id.as_str(),
            "encryptionKeyFingerprint": request.encryption_key_fingerprint,
            "requestSha256": request_sha256,
            "carrier": received.carrier,
        }),
        request_artifacts,
    )?;
    note(&crate::transcript::head_lines(&head, None));
    transcript.working_on("preflight");
    let key_id = request.key_id.clone();
    note(&format!(
        "Request {} ({}): ceremony {}, key {}\n  SHA-256\n    {}",
        received.first.display(),
        received.carrier,
        request.ceremony_id,
        key_id,
        hex_lines(&request_sha256)
    ));

    // 2. Read-only preflight.
    note(&format!("Checking key {key_id} at {} …", client.base()));
    let key = get_key(&client, &key_id)?;
    show_key(&key);
    check_exportable(&key, &request)?;
    transcript.record(
        "preflight",
        json!({
            "keyId": key.id,
            "curve": key.curve,
            "scheme": key.scheme,
            "status": key.status,
            "publicKey": key.public_key,
        }),
        Vec::new(),
    )?;
    transcript.working_on("confirm");

    // 3. The operator confirms what is about to happen.
    confirm(&request, &key, args.yes)?;

    // 4. Export, once. The line is written first: the response file records its head.
    before.end();
    let body_to_send = request.dfns_request.to_json_bytes();
    let export_head = transcript.record(
        "export-sent",
        json!({
            "keyId": key_id.as_str(),
            "exportBodySha256": sha256_hex(&body_to_send),
        }),
        Vec::new(),
    )?;
    transcript.working_on("response-saved");
    note("Exporting (signing the request with the credential, then sending it once) …");
    // From here a first Ctrl-C no longer ends the program: the answer is saved first.
    let interrupt = Interrupt::install();
    let outcome = export_key(&client, &credential, &key_id, &body_to_send)?;
    if interrupt.happened() {
        note(
            "Ctrl-C: the export was already sent; saving its answer and finishing (Ctrl-C \
             again quits at once and may lose it).",
        );
    }
    let body = match outcome {
        ExportOutcome::Exported(body) => body,
        ExportOutcome::Held(body) => {
            let path = out.join(HELD_FILE);
            let held_saved = write_new(&path, &body, FileMode::Public)
                .ok()
                .map(|()| path);
            if let Some(path) = &held_saved {
                saved.push(transcript.artifact("export-held", path, &body));
            }
            return Err(OnlineError::Held {
                saved: held_saved,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
    };

    // 5. Persist before anything else.
    let response_path = out.join(RESPONSE_FILE);
    let file_bytes = persist(
        &request,
        &key,
        &request_sha256,
        &export_head,
        &body,
        &response_path,
    )?;
    saved.push(transcript.artifact("response", &response_path, &file_bytes));
    note(&format!(
        "Saved the Dfns response in {}",
        response_path.display()
    ));

    // 6. Check it.
    let response = ExportResponse::from_json(&body).map_err(|e| OnlineError::ResponseCheck {
        message: format!("the response from Dfns is not a valid export: {e}"),
        saved: response_path.clone(),
    })?;
    check_public_key(&key, &response, &response_path)?;
    note(&format!(
        "The response's publicKey equals the preflight's:\n    {}",
        hex_lines(&response.public_key.to_string())
    ));

    // 7. The trip back across the air gap.
    let frames = airgap::write_frames(&out, STEM, &file_bytes, &FrameOptions::default()).map_err(
        |reason| OnlineError::Transport {
            saved: response_path.clone(),
            reason,
        },
    )?;
    let mut artifacts = std::mem::take(saved);
    for path in frames.pngs.iter().chain([&frames.gif, &frames.ur_text]) {
        if let Ok(bytes) = std::fs::read(path) {
            artifacts.push(transcript.artifact("response-qr", path, &bytes));
        }
    }
    let head = match transcript.record(
        "response-saved",
        json!({
            "responseSha256": sha256_hex(&file_bytes),
            "publicKey": response.public_key.to_hex(),
            "onlineTranscriptHead": export_head,
        }),
        artifacts,
    ) {
        Ok(head) => Some(head),
        Err(e) => {
            // The response is saved; only the record of it failed.
            eprintln!("warning: {e}");
            None
        }
    };
    if let Some(head) = head {
        note(&crate::transcript::head_lines(
            &head,
            Some(transcript.path()),
        ));
    }
    report(
        json_mode,
        &request,
        &response,
        &response_path,
        &frames,
        &request_sha256,
        &sha256_hex(&file_bytes),
    );
    Ok(())
}

fn output_dir(args: &SubmitArgs, first_input: &Path) -> Result<PathBuf, OnlineError> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => match first_input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    // Created when absent, as `keyexport-offline init --out` does.
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Err(OnlineError::Refused {
            message: format!("cannot create the output folder {}: {e}", dir.display()),
            advice: "Choose with --out a folder you can write to. Nothing was exported.".into(),
        });
    }
    if !dir.is_dir() {
        return Err(OnlineError::Refused {
            message: format!("the output {} is not a folder", dir.display()),
            advice: "Choose with --out a folder you can write to. Nothing was exported.".into(),
        });
    }
    Ok(dir)
}

/// Refuses to start if any output already exists: the export cannot be repeated, so
/// its outputs must not collide with an earlier run's.
fn check_outputs_free(dir: &Path) -> Result<(), OnlineError> {
    let mut taken: Vec<PathBuf> = [RESPONSE_FILE, HELD_FILE]
        .iter()
        .map(|name| dir.join(name))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    taken.extend(airgap::collisions(dir, STEM));
    if taken.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = taken.iter().map(|p| p.display().to_string()).collect();
    Err(OnlineError::Refused {
        message: format!("output files already exist: {}", names.join(", ")),
        advice: "An earlier run may already have exported this key and saved its response \
                 there: keep those files. Use another --out folder for a new attempt."
            .into(),
    })
}

fn show_key(key: &KeyInfo) {
    // The public key on its own line, in groups of 8: it is compared with Step 5's.
    note(&format!(
        "Dfns key {}: name {:?}, curve {}, scheme {}, status {}{}\n  public key\n    {}",
        key.id,
        key.name.as_deref().unwrap_or(""),
        key.curve,
        key.scheme,
        key.status,
        if key.is_exported() {
            " (already exported)"
        } else {
            ""
        },
        hex_lines(&key.public_key.to_string())
    ));
}

/// Hex in groups of 8, eight groups (64 digits) a line, continuation lines indented as
/// the values under a label: nothing wraps at 80 columns.
fn hex_lines(hex: &str) -> String {
    hex.as_bytes()
        .chunks(64)
        .map(|line| group_hex(&String::from_utf8_lossy(line)))
        .collect::<Vec<_>>()
        .join("\n    ")
}

fn check_exportable(key: &KeyInfo, request: &RequestFile) -> Result<(), OnlineError> {
    if key.is_exported() {
        return Err(OnlineError::Refused {
            message: format!(
                "key {} is already exported{}",
                key.id,
                key.date_exported
                    .as_deref()
                    .map(|d| format!(" (on {d})"))
                    .unwrap_or_default()
            ),
            advice: "A key can be exported only once. Find the response.json saved when it \
                     was exported."
                .into(),
        });
    }
    if !key.is_active() {
        return Err(OnlineError::Refused {
            message: format!("key {} is not active (status {})", key.id, key.status),
            advice: "Only an active key can be exported.".into(),
        });
    }
    let listed = request
        .dfns_request
        .supported_schemes
        .iter()
        .any(|s| s.curve.as_str() == key.curve);
    if !listed {
        let schemes: Vec<String> = request
            .dfns_request
            .supported_schemes
            .iter()
            .map(ToString::to_string)
            .collect();
        return Err(OnlineError::Refused {
            message: format!(
                "key {} is on curve {}, which the request does not list (supportedSchemes: {})",
                key.id,
                key.curve,
                schemes.join(", ")
            ),
            advice: "Make a new request on the offline machine that includes this key's \
                     scheme (keyexport-offline init --scheme PROTOCOL:CURVE), or check the \
                     key id."
                .into(),
        });
    }
    Ok(())
}

/// Shows what is about to happen and has the operator type the key id.
fn confirm(request: &RequestFile, key: &KeyInfo, yes: bool) -> Result<(), OnlineError> {
    let summary = format!(
        "\nAbout to export, ONCE and irreversibly (the key stops signing in Dfns):\n  \
         key id                      {}\n  scheme                      {} on {}\n  \
         ceremony id                 {}\n  encryption-key fingerprint  {}\n\
         Compare the ceremony id and fingerprint with the offline machine's screen.",
        request.key_id,
        Escaped(&key.scheme),
        Escaped(&key.curve),
        request.ceremony_id,
        request.dfns_request.encryption_key.fingerprint()
    );
    note(&summary);
    if yes {
        note("--yes given: not asking for confirmation.");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(OnlineError::Refused {
            message: "no terminal to confirm the export on".into(),
            advice: "Run submit in a terminal to type the key id, or pass --yes in a script \
                     that has checked the key id, ceremony id and fingerprint itself."
                .into(),
        });
    }
    eprint!("Type the key id to confirm: ");
    // Nothing useful can be done if stderr cannot be flushed; the prompt still follows.
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| OnlineError::Input(format!("cannot read the confirmation: {e}")))?;
    if line.trim() == request.key_id.as_str() {
        Ok(())
    } else {
        Err(OnlineError::Refused {
            message: "the key id typed does not match; nothing was exported".into(),
            advice: "Run submit again and type the key id exactly as shown.".into(),
        })
    }
}

/// Writes the response file atomically. If that fails the error carries the raw body,
/// which `main` prints to stdout at once so it is not lost. Returns the file's bytes.
fn persist(
    request: &RequestFile,
    key: &KeyInfo,
    request_sha256: &str,
    transcript_head: &str,
    body: &[u8],
    path: &Path,
) -> Result<Vec<u8>, OnlineError> {
    let not_saved = |reason: String| OnlineError::NotSaved {
        reason,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let text = std::str::from_utf8(body)
        .map_err(|_| not_saved("the response body is not UTF-8 text".into()))?;
    let file = ResponseFile::new(
        request.ceremony_id.clone(),
        request.key_id.clone(),
        request_sha256.to_owned(),
        now_rfc3339(),
        tool(),
        transcript_head.to_owned(),
        text,
    )
    .map_err(|e| not_saved(e.to_string()))?
    .with_key_object(key.key_object_facts());
    let bytes = file.to_bytes();
    write_new(path, &bytes, FileMode::Public).map_err(|e| not_saved(e.to_string()))?;
    Ok(bytes)
}

fn report(
    json_mode: bool,
    request: &RequestFile,
    response: &ExportResponse,
    response_path: &Path,
    frames: &FrameFiles,
    request_sha256: &str,
    response_sha256: &str,
) {
    let pngs: Vec<String> = frames
        .pngs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if json_mode {
        let value = json!({
            "status": "exported",
            "keyId": request.key_id.as_str(),
            "ceremonyId": request.ceremony_id.as_str(),
            "requestSha256": request_sha256,
            "response": response_path.display().to_string(),
            "responseSha256": response_sha256,
            "qrPngs": pngs,
            "qrGif": frames.gif.display().to_string(),
            "urText": frames.ur_text.display().to_string(),
            "summary": {
                "protocol": response.protocol,
                "curve": response.curve,
                "publicKey": response.public_key.to_hex(),
                "publicKeyMatchesPreflight": true,
                "minSigners": response.min_signers,
                "shares": response.shares.len(),
            },
        });
        println!(
            "{}",
            keyexport_shared::display::to_json(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        println!(
            "Exported key {} ({} on {}, {} of {} shares needed).\n\
             Response saved: {}\n\
             Response SHA-256 (compare with the offline machine's `inspect`):\n  {}\n\
             QR frames: {} PNG file(s) ({} … ), animation {}, UR text {}\n\
             Next: carry these to the offline machine, or play them with \
             `keyexport-online show {}`.",
            request.key_id,
            response.protocol,
            response.curve,
            response.min_signers,
            response.shares.len(),
            response_path.display(),
            group_hex(response_sha256),
            pngs.len(),
            pngs.first().map(String::as_str).unwrap_or(""),
            frames.gif.display(),
            frames.ur_text.display(),
            response_path.display()
        );
    }
}
