//! `--response` from QR images, directories, UR text and standard input, and the QR/UR
//! rows of the bad-input matrix (image without a QR code, a QR of something else, an
//! incomplete frame set, frames of two payloads).

use std::path::{Path, PathBuf};

use keyexport_shared::transport::{self, FrameOptions, UrFrame};
use predicates::prelude::*;
use serde_json::Value;

use crate::common::{Ceremony, offline, s, stdout_json, vector, vector_files};

/// The response of `v` as UR frames (default options: fountain extras included).
fn frames_of(v: &Value) -> Vec<UrFrame> {
    let payload = serde_json::to_vec(&v["response"]).unwrap();
    transport::encode_frames(&payload, &FrameOptions::default()).unwrap()
}

fn write_pngs(dir: &Path, frames: &[UrFrame]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    frames
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let path = dir.join(format!("frame-{i:02}.png"));
            std::fs::write(
                &path,
                transport::render_png(frame, &FrameOptions::default()).unwrap(),
            )
            .unwrap();
            path
        })
        .collect()
}

fn reveal(key: &Path, responses: &[&str]) -> std::process::Output {
    let mut cmd = offline();
    cmd.args([
        "reconstruct",
        "--json",
        "--reveal",
        "--decryption-key",
        s(key),
    ]);
    for r in responses {
        cmd.args(["--response", r]);
    }
    cmd.output().unwrap()
}

fn check_key(output: &std::process::Output, v: &Value) {
    let json = stdout_json(output);
    assert_eq!(output.status.code(), Some(0), "{json}");
    assert_eq!(json["privateKey"], v["expected"]["privateKey"]);
}

#[test]
fn directory_of_qr_images() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-3of4");
    let v = &c.vector;
    let frames = frames_of(v);
    assert!(frames.len() > 1, "the response must need several frames");
    let dir = c.dir().join("photos");
    write_pngs(&dir, &frames);
    check_key(&reveal(&c.key, &[s(&dir)]), v);
}

#[test]
fn images_and_ur_text_in_any_mix_and_order() {
    let c = Ceremony::from_vector("frost-ed25519-3of4");
    let v = &c.vector;
    let frames = frames_of(v);
    let half = frames.len() / 2;
    // Second half as a JPEG photo each, first half (plus a duplicate) as UR text.
    let pngs = write_pngs(&c.dir().join("png"), &frames[half..]);
    let mut inputs = Vec::new();
    for (i, png) in pngs.iter().enumerate().rev() {
        let image = image::load_from_memory(&std::fs::read(png).unwrap()).unwrap();
        let jpeg = c.dir().join(format!("photo-{i}.jpg"));
        image.to_rgb8().save(&jpeg).unwrap();
        inputs.push(jpeg);
    }
    let text = c.dir().join("frames.txt");
    let mut lines: Vec<String> = frames[..half]
        .iter()
        .map(|f| f.as_str().to_lowercase())
        .collect();
    lines.push(frames[0].as_str().to_owned());
    std::fs::write(&text, lines.join("\n")).unwrap();
    inputs.insert(1, text);
    let args: Vec<&str> = inputs.iter().map(|p| s(p)).collect();
    check_key(&reveal(&c.key, &args), v);
}

#[test]
fn frames_typed_on_standard_input_by_a_scanner() {
    let c = Ceremony::from_vector("cggmp21-stark-3of4");
    let v = &c.vector;
    let frames = frames_of(v);
    let mut typed: Vec<String> = frames.iter().rev().map(|f| f.as_str().to_owned()).collect();
    typed.insert(1, typed[0].clone());
    let output = offline()
        .args([
            "reconstruct",
            "--json",
            "--reveal",
            "--decryption-key",
            s(&c.key),
            "--response",
            "-",
        ])
        .write_stdin(format!("{}\n", typed.join("\r\n")))
        .output()
        .unwrap();
    check_key(&output, v);
}

/// A text file of frames saved by a Windows editor (byte order mark, CRLF, blank lines)
/// is read like any other.
#[test]
fn ur_text_with_a_byte_order_mark_and_crlf() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let frames = frames_of(&c.vector);
    let lines: Vec<&str> = frames.iter().map(UrFrame::as_str).collect();
    let text = c.dir().join("frames.txt");
    std::fs::write(&text, format!("\u{feff}{}\r\n\r\n", lines.join("\r\n"))).unwrap();
    check_key(&reveal(&c.key, &[s(&text)]), &c.vector);
}

#[test]
fn image_without_a_qr_code() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let blank = c.dir().join("blank.png");
    image::GrayImage::from_pixel(400, 300, image::Luma([255]))
        .save(&blank)
        .unwrap();
    let output = reveal(&c.key, &[s(&blank)]);
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "input");
    assert_eq!(
        json["error"]["message"],
        format!("{}: no QR code found in the image", blank.display())
    );
    assert!(json.get("privateKey").is_none());
}

#[test]
fn qr_code_of_something_else() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let code = qrcode::QrCode::new(b"https://example.com/not-a-frame").unwrap();
    let other = c.dir().join("url.png");
    code.render::<image::Luma<u8>>()
        .module_dimensions(6, 6)
        .build()
        .save(&other)
        .unwrap();
    let output = reveal(&c.key, &[s(&other)]);
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("not a UR frame"), "{message}");
    assert!(
        json["error"]["advice"]
            .as_str()
            .unwrap()
            .contains("not a keyexport transfer")
    );
}

#[test]
fn incomplete_frame_set() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-3of4");
    let v = &c.vector;
    let frames = frames_of(v);
    let text = c.dir().join("some.txt");
    std::fs::write(&text, format!("{}\n", frames[0].as_str())).unwrap();
    let out = c.dir().join("key.hex");
    offline()
        .args([
            "reconstruct",
            "--decryption-key",
            s(&c.key),
            "--response",
            s(&text),
            "--out",
            s(&out),
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: UR frames: incomplete: 1 distinct frame(s) give about",
        ));
    assert!(!out.exists());

    // inspect reports the progress (one JSON object with --json), and exits 3: there is
    // no whole file yet.
    let output = offline()
        .args(["inspect", "--json", s(&text)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    assert_eq!(json["incompleteFrames"]["distinctFrames"], 1);
    offline()
        .args(["inspect", s(&text)])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("UR frames (incomplete)"))
        .stderr(predicate::str::contains(
            "Photograph or scan the QR codes not yet read",
        ));
}

#[test]
fn frames_of_two_payloads_are_refused() {
    let v = vector("cggmp24-secp256k1-3of4");
    let w = vector("cggmp21-secp256k1-3of4");
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = vector_files(tmp.path(), &v);
    let text = tmp.path().join("mixed.txt");
    std::fs::write(
        &text,
        format!(
            "{}\n{}\n",
            frames_of(&v)[0].as_str(),
            frames_of(&w)[1].as_str()
        ),
    )
    .unwrap();
    let output = reveal(&key, &[s(&text)]);
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("mixed.txt, line 2") && message.contains("belongs to another payload"),
        "{message}"
    );
}

#[test]
fn a_request_png_among_response_frames_is_named() {
    let v = vector("cggmp24-secp256k1-3of4");
    let w = vector("cggmp21-secp256k1-3of4");
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = vector_files(tmp.path(), &v);
    let folder = tmp.path().join("photos");
    std::fs::create_dir(&folder).unwrap();
    write_pngs(&folder, &frames_of(&v));
    // Another transfer's frame, sorted first, as request.png is beside response-qr-NN.png.
    let intruder = write_pngs(tmp.path(), &frames_of(&w)[..1]).remove(0);
    std::fs::rename(&intruder, folder.join("another.png")).unwrap();
    let output = reveal(&key, &[s(&folder)]);
    assert_eq!(output.status.code(), Some(3));
    let message = stdout_json(&output)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("two different files"), "{message}");
    assert!(message.contains("another.png"), "{message}");
}
