//! The happy path on every scheme and credential type, the carriers of the request, and
//! the checks made before any traffic.

use keyexport_shared::files::Artifact;
use keyexport_shared::scheme::Scheme;
use keyexport_shared::transport::{
    FrameCollector, FrameOptions, decode_image, encode_frames, render_png,
};
use sandbox::{CredentialKind, SandboxConfig};

use crate::common::*;
use crate::screen;

#[test]
fn exports_every_protocol_and_curve() {
    for scheme in Scheme::all() {
        let c = ceremony(&scheme.to_string(), SandboxConfig::default());
        let output = c.run();
        assert!(output.status.success(), "{scheme}: {}", stderr(&output));
        let summary = json_out(&output);
        assert_eq!(summary["status"], "exported");
        assert_eq!(summary["keyId"], c.key_id.as_str());
        assert_eq!(summary["summary"]["publicKeyMatchesPreflight"], true);
        assert_eq!(summary["summary"]["protocol"], scheme.protocol.as_str());
        assert_eq!(summary["summary"]["curve"], scheme.curve.as_str());
        let rebuilt = rebuild_and_compare(&c, c.dir.path());
        assert_eq!(rebuilt.scheme, scheme);
        assert!(rebuilt.bad_shares.is_empty());
        assert_eq!(export_calls(&c.sandbox), 1);
        assert!(is_exported(&c.sandbox, &c.key_id));
    }
}

#[test]
fn every_credential_type_signs_the_export() {
    for kind in CredentialKind::ALL {
        let c = ceremony(
            "CGGMP24:secp256k1",
            SandboxConfig::default().credential(kind),
        );
        let output = c.run();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        rebuild_and_compare(&c, c.dir.path());
    }
}

#[test]
fn credential_from_a_pem_file() {
    let c = ceremony(
        "FROST:ed25519",
        SandboxConfig::default().credential(CredentialKind::Rsa),
    );
    let pem = c.dir.path().join("credential.pem");
    std::fs::write(&pem, c.sandbox.credential().private_pem()).unwrap();
    let output = submit(&c)
        .env_remove("DFNS_PRIVATE_KEY")
        .env("DFNS_PRIVATE_KEY_FILE", &pem)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn response_frames_carry_the_response_file() {
    let c = ceremony("CGGMP21:stark", SandboxConfig::default());
    let output = c.run_ok();
    let summary = json_out(&output);
    let file = std::fs::read(c.dir.path().join("response.json")).unwrap();
    let mut collector = FrameCollector::new();
    for png in summary["qrPngs"].as_array().unwrap() {
        for text in decode_image(&std::fs::read(png.as_str().unwrap()).unwrap()).unwrap() {
            collector.push(&text).unwrap();
        }
    }
    assert_eq!(collector.finish().unwrap(), file);
    let ur = std::fs::read_to_string(summary["urText"].as_str().unwrap()).unwrap();
    let mut collector = FrameCollector::new();
    for line in ur.lines() {
        collector.push(line).unwrap();
    }
    assert_eq!(collector.finish().unwrap(), file);
    let gif = std::fs::read(summary["qrGif"].as_str().unwrap()).unwrap();
    assert!(gif.starts_with(b"GIF89a"));
    // The response file records the request it answers.
    let Artifact::Response(saved) = Artifact::parse(&file).unwrap() else {
        panic!("not a response file")
    };
    let request = std::fs::read(&c.request).unwrap();
    assert_eq!(
        saved.request_sha256,
        keyexport_shared::files::sha256_hex(&request)
    );
    assert_eq!(saved.key_id.as_str(), c.key_id);
}

#[test]
fn request_from_qr_images_and_ur_text() {
    for carrier in ["png", "ur"] {
        let c = ceremony("KU23:ed25519", SandboxConfig::default());
        let bytes = std::fs::read(&c.request).unwrap();
        let options = FrameOptions::default();
        let frames = encode_frames(&bytes, &options).unwrap();
        let scans = c.new_folder("scans");
        let mut inputs = Vec::new();
        if carrier == "png" {
            for (i, frame) in frames.iter().enumerate() {
                let path = scans.join(format!("photo-{i}.png"));
                std::fs::write(&path, render_png(frame, &options).unwrap()).unwrap();
                inputs.push(path);
            }
        } else {
            let path = scans.join("request.ur.txt");
            let text: Vec<&str> = frames.iter().map(|f| f.as_str()).collect();
            std::fs::write(&path, text.join("\n")).unwrap();
            inputs.push(path);
        }
        let out = c.new_folder("out");
        let mut cmd = online(&c.sandbox);
        cmd.arg("submit");
        for input in &inputs {
            cmd.arg("--request").arg(input);
        }
        let output = cmd.arg("--out").arg(&out).arg("--yes").output().unwrap();
        assert!(output.status.success(), "{carrier}: {}", stderr(&output));
        assert!(String::from_utf8_lossy(&output.stdout).contains("Exported key"));
        rebuild_and_compare(&c, &out);
    }
}

#[test]
fn invalid_input_is_refused_before_any_traffic() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let garbage = c.dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"kind\":\"keyexport-request\",\"version\":1}").unwrap();
    let output = c.submit_text(&garbage).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    // An edited request (fingerprint no longer matching) is refused too.
    let text = std::fs::read_to_string(&c.request).unwrap();
    let other = keyexport_shared::keys::DecryptionKey::generate().encryption_key();
    let edited = text.replace(
        &c.decryption_key.encryption_key().to_base64(),
        &other.to_base64(),
    );
    std::fs::write(&c.request, edited).unwrap();
    let output = c.run();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(c.sandbox.requests().is_empty());
}

#[test]
fn refuses_without_terminal_or_yes() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = online(&c.sandbox)
        .arg("submit")
        .arg("--request")
        .arg(&c.request)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    let err = stderr(&output);
    assert!(err.contains("no terminal"), "{err}");
    // What the operator must compare was shown.
    assert!(err.contains(&c.key_id));
    assert!(err.contains(&c.decryption_key.encryption_key().fingerprint().to_string()));
    assert_eq!(export_calls(&c.sandbox), 0);
}

#[test]
fn second_export_is_refused_at_the_preflight() {
    let c = ceremony("FROST_BITCOIN:secp256k1", SandboxConfig::default());
    c.run_ok();
    let again = c.new_folder("again");
    let output = submit(&c).arg("--out").arg(&again).output().unwrap();
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("already exported"));
    assert_eq!(export_calls(&c.sandbox), 1);
}

#[test]
fn existing_outputs_are_never_overwritten() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    std::fs::write(c.dir.path().join("response.json"), b"earlier").unwrap();
    let output = c.run();
    assert_eq!(output.status.code(), Some(5));
    assert!(c.sandbox.requests().is_empty());
    assert_eq!(
        std::fs::read(c.dir.path().join("response.json")).unwrap(),
        b"earlier"
    );
}

#[test]
fn key_curve_missing_from_the_request_is_refused() {
    let c = ceremony("FROST:ed25519", SandboxConfig::default());
    write_request_over(&c, vec!["CGGMP24:secp256k1".parse().unwrap()]);
    let output = c.run();
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("does not list"));
    assert_eq!(export_calls(&c.sandbox), 0);
}

fn write_request_over(c: &Ceremony, schemes: Vec<Scheme>) {
    std::fs::remove_file(&c.request).unwrap();
    write_request(c.dir.path(), &c.key_id, schemes);
}

/// A ceremony whose export the sandbox carries out at once but answers `delay_ms` late.
fn ceremony_with_slow_export(scheme: &str, delay_ms: u64) -> Ceremony {
    ceremony(
        scheme,
        SandboxConfig::default().fault(sandbox::Fault::Delay {
            route: sandbox::Route::Export,
            delay: std::time::Duration::from_millis(delay_ms),
        }),
    )
}

#[test]
fn unwritable_output_prints_the_response() {
    // The folder disappears while Dfns is answering (the sandbox logs the export, then
    // answers late), so writing response.json fails after the irreversible export.
    let c = ceremony_with_slow_export("CGGMP24:secp256k1", 1500);
    let out = c.new_folder("out");
    let mut cmd = submit(&c);
    cmd.arg("--out").arg(&out);
    let output = run_while_moving_away(&c, &cmd, &out);
    assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
    let printed = json_out(&output);
    assert_eq!(printed["error"]["kind"], "not-saved");
    let body = printed["error"]["dfnsResponse"].as_str().unwrap();
    let response = keyexport_shared::wire::ExportResponse::from_json(body.as_bytes()).unwrap();
    let rebuilt = keyexport_shared::reconstruct::reconstruct(&response, &c.decryption_key).unwrap();
    assert_eq!(
        rebuilt.private_key.to_hex().as_str(),
        c.sandbox.private_key_hex(&c.key_id).unwrap().as_str()
    );
    assert!(is_exported(&c.sandbox, &c.key_id));
    // The `not-saved` error as a script and the operator see it, Dfns' body (checked above)
    // and the run's variable parts replaced.
    let stderr = stderr(&output);
    let error = stderr.find("error: ").map_or("", |at| &stderr[at..]);
    let text = format!(
        "exit code: {:?}\n--- stdout\n{}\n--- stderr (from the error on)\n{error}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
    );
    let text = text
        .replace(&body.replace('"', "\\\""), "[DFNS BODY]")
        .replace(body, "[DFNS BODY]")
        .replace(&c.dir.path().to_string_lossy().into_owned(), "[DIR]")
        .replace(&c.key_id, "[KEY]");
    insta::assert_snapshot!("kind_not_saved", text);
}

/// Runs `cmd` and moves the output folder away once the sandbox has received the
/// export (it answers late: the `Delay` fault), so saving the response must fail.
fn run_while_moving_away(
    c: &Ceremony,
    cmd: &assert_cmd::Command,
    out: &std::path::Path,
) -> std::process::Output {
    let child = spawn(&mut process_of(cmd));
    wait_for_export(&c.sandbox);
    std::fs::rename(out, c.dir.path().join("moved-away")).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn unwritable_output_without_json_prints_the_raw_body() {
    let c = ceremony_with_slow_export("GLOW20_DH:secp256k1", 1500);
    let out = c.new_folder("out");
    let mut cmd = c.submit_text(&c.request);
    cmd.arg("--out").arg(&out);
    let output = run_while_moving_away(&c, &cmd, &out);
    assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
    let response = keyexport_shared::wire::ExportResponse::from_json(&output.stdout).unwrap();
    assert_eq!(response.shares.len(), 3);
    assert!(stderr(&output).contains("copy it into a file now"));
}

#[test]
fn show_plays_the_response_frames() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    c.run_ok();
    let response = c.dir.path().join("response.json");
    for file in [response.clone(), c.dir.path().join("response.ur.txt")] {
        let output = c
            .show(&file)
            .args(["--loops", "1", "--fps", "30"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        // Not a terminal: the frames are sized for 80x24, and every screen fits it.
        let shown = String::from_utf8_lossy(&output.stdout);
        let screens: Vec<&str> = shown.split("\x1b[2J\x1b[H").skip(1).collect();
        let frames = screens.len();
        assert!(frames > 1);
        for screen in &screens {
            assert!(screen.trim_end().lines().count() <= 24, "{screen}");
            assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
        }
        assert!(shown.contains(&format!("frame {frames} of {frames}")));
    }
    let output = c.show(&c.request).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("keyexport-offline show"));
    assert!(!stderr(&output).contains("Give the request file"));
    let output = c.show(&response).args(["--fps", "0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// What a camera sees of `show` in a pseudo-terminal of `size`: the payload read back.
fn played(c: &Ceremony, size: (u16, u16)) -> (screen::Run, Vec<u8>) {
    let shown = screen::run(
        &online_bin(),
        &["show", "response.json", "--loops", "1", "--fps", "30"],
        &[],
        c.dir.path(),
        size,
        &[],
    );
    let mut collector = keyexport_shared::transport::FrameCollector::new();
    if shown.code == 0 {
        for (i, frame) in screen::frames_shown(&shown).iter().enumerate() {
            let texts = screen::decode_screen(frame);
            assert_eq!(
                texts.len(),
                1,
                "frame {i} does not scan:\n{}",
                frame.contents()
            );
            collector.push(&texts[0]).unwrap();
        }
    }
    let payload = collector.finish().unwrap_or_default();
    (shown, payload)
}

#[test]
fn show_draws_codes_that_scan_at_80x24_and_160x50_or_refuses() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    c.run_ok();
    let response = std::fs::read(c.dir.path().join("response.json")).unwrap();
    let (small, payload) = played(&c, (80, 24));
    assert_eq!(small.code, 0, "{}", small.raw_text());
    assert_eq!(payload, response);
    let wide = screen::lines_wider_than(&small.raw, 80);
    assert!(wide.is_empty(), "{wide:#?}");
    let digest = keyexport_shared::files::sha256_hex(&response);
    assert!(
        small
            .screen_text()
            .contains(&format!("{}…{}", &digest[..8], &digest[56..]))
    );
    let (large, payload) = played(&c, (160, 50));
    assert_eq!(large.code, 0, "{}", large.raw_text());
    assert_eq!(payload, response);
    let (tiny, _) = played(&c, (40, 12));
    assert_eq!(tiny.code, 2, "{}", tiny.raw_text());
    assert!(tiny.raw_text().contains("Make the terminal at least"));
    assert!(tiny.raw_text().contains("response-qr"));
    assert!(!tiny.raw_text().contains('█'));
}

#[test]
fn an_offline_secret_given_as_the_request_stops_everything() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let sealed = c.dir.path().join("decryption-key.age");
    std::fs::write(
        &sealed,
        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n",
    )
    .unwrap();
    let plain = c.dir.path().join("decryption-key.hex");
    std::fs::write(&plain, format!("01{}\n", "ab".repeat(32))).unwrap();
    for file in [&sealed, &plain] {
        let output = c.submit_text(file).output().unwrap();
        assert_eq!(output.status.code(), Some(14), "{}", stderr(&output));
        let text = stderr(&output);
        assert!(text.contains("OFFLINE machine's secret"), "{text}");
        assert!(text.contains("wipe"), "{text}");
        assert!(!text.contains("not valid JSON"), "{text}");
        let output = c.show(file).output().unwrap();
        assert_eq!(output.status.code(), Some(14));
    }
    assert_eq!(export_calls(&c.sandbox), 0);
}

#[test]
fn ctrl_c_while_the_export_is_in_flight_keeps_its_answer() {
    // Dfns has carried out the export and answers late; Ctrl-C meanwhile must not lose
    // the shares: the answer is saved and the run completes.
    let c = ceremony_with_slow_export("FROST:ed25519", 800);
    let child = spawn(&mut process_of(&submit(&c)));
    wait_for_export(&c.sandbox);
    ctrl_c(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("Ctrl-C: the export was already sent"));
    rebuild_and_compare(&c, c.dir.path());
}

#[test]
fn a_proxy_is_used_only_when_given_and_always_shown() {
    // A proxy in the environment is ignored, and said so: following this dead one would
    // fail every call.
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = submit(&c)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "socks5://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Proxy        none (HTTPS_PROXY is set and ignored"),
        "{}",
        stderr(&output)
    );
    // `--proxy` is followed and shown, without the credentials in its URL.
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = submit(&c)
        .args(["--proxy", "http://operator:hunter2@127.0.0.1:9"])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(
        text.contains("Proxy        http://127.0.0.1:9 (from --proxy)"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(output.status.code(), Some(7), "{text}");
}

#[test]
fn configuration_problems_are_reported_together_before_any_step() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let mut cmd = c.submit_text(&c.request);
    for name in [
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "DFNS_PRIVATE_KEY_FILE",
    ] {
        cmd.env_remove(name);
    }
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(4));
    let text = stderr(&output);
    for missing in ["DFNS_AUTH_TOKEN", "DFNS_CRED_ID", "DFNS_PRIVATE_KEY"] {
        assert!(text.contains(missing), "{missing}: {text}");
    }
    // No step was recorded as done: nothing for the witness to write down.
    assert!(!text.contains("Transcript head"), "{text}");

    // A bad URL alone gets advice about the URL, not the token.
    let output = c
        .submit_text(&c.request)
        .env("DFNS_API_URL", "ftp://api.dfns.io")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let text = stderr(&output);
    assert!(text.contains("Set DFNS_API_URL"), "{text}");
    assert!(!text.contains("DFNS_AUTH_TOKEN"), "{text}");
    assert_eq!(export_calls(&c.sandbox), 0);
}

#[test]
fn submit_creates_its_output_folder_and_prints_the_response_digest() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let out = c.dir.path().join("new/folder");
    let output = c
        .submit_text(&c.request)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let bytes = std::fs::read(out.join("response.json")).unwrap();
    let digest = keyexport_shared::files::sha256_hex(&bytes);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains(&keyexport_shared::transport::group_hex(&digest)),
        "{printed}"
    );
    // Digests and public keys are on lines of their own that fit 80 columns.
    let text = stderr(&output);
    let values: Vec<&str> = text.lines().filter(|l| l.starts_with("    ")).collect();
    assert!(values.len() >= 3, "{text}");
    assert!(values.iter().all(|l| l.chars().count() <= 80), "{values:?}");
}

#[test]
fn ctrl_c_at_the_confirmation_says_nothing_was_exported() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let env = c.sandbox.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shown = screen::run(
        &online_bin(),
        &["submit", "--request", c.request.to_str().unwrap()],
        &env,
        c.dir.path(),
        (80, 24),
        &[screen::Step {
            wait_for: "Type the key id to confirm: ",
            send: "\x03",
        }],
    );
    assert_eq!(shown.code, 130, "{}", shown.raw_text());
    assert!(
        shown
            .raw_text()
            .contains("interrupted before the export was sent: nothing was exported."),
        "{}",
        shown.raw_text()
    );
    assert_eq!(export_calls(&c.sandbox), 0);
}
