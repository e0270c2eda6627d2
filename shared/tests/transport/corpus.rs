//! Photo-like degradation corpus for the QR transport, shared by the robustness test
//! (small corpus, lower bar) and the `transport_robustness` benchmark (full corpus,
//! decoder comparison, parameter sweeps).
//!
//! Real frames of a synthetic but realistically sized N-share response are rendered as
//! PNG by the product code, then degraded like a phone or webcam photo of a screen:
//! Gaussian blur, rotation, perspective skew, down-scaling to 2 px per module, JPEG at
//! quality 25, sensor noise, low contrast, uneven lighting, and combinations. Every
//! random choice comes from a seeded RNG, so runs are reproducible.

#![allow(dead_code)] // Each including crate (test, bench) uses a different subset.

use std::io::Cursor;

use base64::Engine as _;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{Interpolation, Projection, rotate_about_center, warp};
use keyexport_shared::transport::{
    FrameOptions, TransportError, UrFrame, decode_image, decode_luma, render_png,
};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// A response file as the online binary stores it: JSON with `shares` encrypted shares
/// (base64 of 230 bytes each), signer ids (base64 of 32 bytes), a public key and a
/// wrapper with ceremony id, key id, digest and time. Random bytes, realistic size.
pub fn synthetic_response(shares: usize, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = |n: usize| {
        let mut v = vec![0u8; n];
        rng.fill_bytes(&mut v);
        v
    };
    let share_entries: Vec<String> = (0..shares)
        .map(|_| {
            format!(
                "{{\"signerId\":\"{}\",\"encryptedKeyShare\":\"{}\"}}",
                b64.encode(bytes(32)),
                b64.encode(bytes(230))
            )
        })
        .collect();
    format!(
        "{{\"kind\":\"keyexport-response\",\"version\":1,\"ceremonyId\":\"cer-{}\",\
         \"keyId\":\"key-01j8{}\",\"time\":\"2026-11-28T17:30:00Z\",\"sha256\":\"{}\",\
         \"response\":{{\"publicKey\":\"{}\",\"protocol\":\"CGGMP24\",\"curve\":\"secp256k1\",\
         \"minSigners\":{},\"encryptedKeyShares\":[{}]}}}}",
        hex::encode(bytes(8)),
        hex::encode(bytes(10)),
        hex::encode(bytes(32)),
        hex::encode(bytes(33)),
        shares.div_ceil(2) + 1,
        share_entries.join(",")
    )
    .into_bytes()
}

/// One photo-like degradation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Gaussian blur of the given sigma, in modules (1.0 = one module).
    Blur(f32),
    /// Rotation in degrees.
    Rotate(f32),
    /// Perspective skew: corners moved inwards by this share of the side.
    Skew(f32),
    /// Down-scaling to this many pixels per module.
    Scale(f32),
    /// JPEG encoding at this quality (the image is then read through `decode_image`).
    Jpeg(u8),
    /// Additive Gaussian sensor noise of this standard deviation (grey levels).
    Noise(f32),
    /// Contrast squeezed into this grey-level range.
    Contrast(u8, u8),
    /// Uneven lighting: brightness falls from 1.0 to this factor across the image,
    /// plus a glare spot.
    Lighting(f32),
}

/// A degradation class of the corpus: a name and how to draw its steps.
#[derive(Debug, Clone, Copy)]
pub struct Class {
    /// Name printed in the table.
    pub name: &'static str,
    draw: fn(&mut StdRng) -> Vec<Step>,
}

/// All classes, single degradations first, then combinations.
pub const CLASSES: [Class; 14] = [
    Class {
        name: "clean",
        draw: |_| vec![],
    },
    Class {
        name: "blur",
        draw: |r| vec![Step::Blur(r.gen_range(0.25..0.6))],
    },
    Class {
        name: "rotation <=20deg",
        draw: |r| vec![Step::Rotate(r.gen_range(-20.0..20.0))],
    },
    Class {
        name: "perspective skew",
        draw: |r| vec![Step::Skew(r.gen_range(0.05..0.15))],
    },
    Class {
        name: "scale 2-3 px/module",
        draw: |r| vec![Step::Scale(r.gen_range(2.0..3.0))],
    },
    Class {
        name: "JPEG q25",
        draw: |_| vec![Step::Jpeg(25)],
    },
    Class {
        name: "sensor noise",
        draw: |r| vec![Step::Noise(r.gen_range(15.0..40.0))],
    },
    Class {
        name: "low contrast",
        draw: |r| {
            let lo = r.gen_range(70..110);
            vec![Step::Contrast(lo, lo + r.gen_range(40..60))]
        },
    },
    Class {
        name: "uneven lighting",
        draw: |r| vec![Step::Lighting(r.gen_range(0.3..0.6))],
    },
    Class {
        name: "blur+rotate+JPEG",
        draw: |r| {
            vec![
                Step::Blur(r.gen_range(0.2..0.4)),
                Step::Rotate(r.gen_range(-20.0..20.0)),
                Step::Jpeg(25),
            ]
        },
    },
    Class {
        name: "skew+noise+contrast",
        draw: |r| {
            vec![
                Step::Skew(r.gen_range(0.03..0.10)),
                Step::Contrast(60, 180),
                Step::Noise(r.gen_range(10.0..20.0)),
            ]
        },
    },
    Class {
        name: "scale 2px+blur+JPEG",
        draw: |r| {
            vec![
                Step::Blur(r.gen_range(0.15..0.3)),
                Step::Scale(2.0),
                Step::Jpeg(25),
            ]
        },
    },
    Class {
        name: "lighting+rotate+noise",
        draw: |r| {
            vec![
                Step::Lighting(r.gen_range(0.4..0.7)),
                Step::Rotate(r.gen_range(-15.0..15.0)),
                Step::Noise(r.gen_range(8.0..16.0)),
            ]
        },
    },
    Class {
        name: "phone photo (all)",
        draw: |r| {
            vec![
                Step::Skew(r.gen_range(0.02..0.06)),
                Step::Rotate(r.gen_range(-10.0..10.0)),
                Step::Blur(r.gen_range(0.15..0.3)),
                Step::Scale(r.gen_range(2.5..3.5)),
                Step::Lighting(r.gen_range(0.6..0.85)),
                Step::Contrast(40, 210),
                Step::Noise(r.gen_range(5.0..12.0)),
                Step::Jpeg(25),
            ]
        },
    },
];

impl Class {
    /// Draws the steps of one image of this class.
    pub fn steps(&self, rng: &mut StdRng) -> Vec<Step> {
        (self.draw)(rng)
    }
}

/// A degraded image: grey pixels, or JPEG bytes when the last step was JPEG.
pub enum Photo {
    /// Raw grey pixels.
    Gray(GrayImage),
    /// Encoded JPEG file.
    Jpeg(Vec<u8>),
}

impl Photo {
    /// The grey pixels (JPEG decoded), for decoders that take pixels.
    pub fn to_gray(&self) -> GrayImage {
        match self {
            Photo::Gray(img) => img.clone(),
            Photo::Jpeg(bytes) => image::load_from_memory(bytes)
                .expect("own JPEG decodes")
                .to_luma8(),
        }
    }

    /// Decodes with the product's scanner.
    pub fn scan(&self) -> Result<Vec<String>, TransportError> {
        match self {
            Photo::Gray(img) => decode_luma(img),
            Photo::Jpeg(bytes) => decode_image(bytes),
        }
    }
}

/// Background grey around the rendered code (a screen's bezel or desk).
const BACKGROUND: u8 = 200;

/// Renders a frame as the product does (PNG, `opts.module_px`) and returns its pixels
/// on a canvas with room for rotation and skew.
pub fn render(frame: &UrFrame, opts: &FrameOptions) -> GrayImage {
    let png = render_png(frame, opts).expect("render frame");
    let code = image::load_from_memory(&png)
        .expect("own PNG decodes")
        .to_luma8();
    let margin = code.width() / 5;
    let side = code.width() + 2 * margin;
    let mut canvas = GrayImage::from_pixel(side, side, Luma([BACKGROUND]));
    imageops::overlay(&mut canvas, &code, i64::from(margin), i64::from(margin));
    canvas
}

/// Applies the steps in order. `module_px` is the pixels per module of `img`.
pub fn degrade(img: &GrayImage, module_px: f32, steps: &[Step], rng: &mut StdRng) -> Photo {
    let mut img = img.clone();
    let mut module_px = module_px;
    let mut jpeg = None;
    for step in steps {
        jpeg = None;
        match *step {
            Step::Blur(sigma) => {
                img = imageproc::filter::gaussian_blur_f32(&img, sigma * module_px)
            }
            Step::Rotate(deg) => {
                img = rotate_about_center(
                    &img,
                    deg.to_radians(),
                    Interpolation::Bilinear,
                    Luma([BACKGROUND]),
                )
            }
            Step::Skew(k) => {
                let (w, h) = (img.width() as f32, img.height() as f32);
                let from = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
                // Keystone: the top edge shrinks, as when the camera looks up at a screen,
                // with a random sideways shear.
                let shear = rng.gen_range(-k..k) * w * 0.5;
                let to = [
                    (k * w + shear, k * h * 0.3),
                    (w - k * w + shear, 0.0),
                    (w, h),
                    (0.0, h - k * h * 0.3),
                ];
                let projection =
                    Projection::from_control_points(from, to).expect("non-degenerate skew");
                img = warp(
                    &img,
                    &projection,
                    Interpolation::Bilinear,
                    Luma([BACKGROUND]),
                );
            }
            Step::Scale(target) => {
                let factor = target / module_px;
                if factor < 1.0 {
                    let nw = ((img.width() as f32 * factor).round() as u32).max(1);
                    let nh = ((img.height() as f32 * factor).round() as u32).max(1);
                    img = imageops::resize(&img, nw, nh, FilterType::Triangle);
                    module_px = target;
                }
            }
            Step::Jpeg(quality) => {
                let mut bytes = Vec::new();
                JpegEncoder::new_with_quality(Cursor::new(&mut bytes), quality)
                    .encode_image(&img)
                    .expect("JPEG encoding");
                img = image::load_from_memory(&bytes)
                    .expect("own JPEG decodes")
                    .to_luma8();
                jpeg = Some(bytes);
            }
            Step::Noise(sigma) => {
                img = imageproc::noise::gaussian_noise(&img, 0.0, f64::from(sigma), rng.next_u64())
            }
            Step::Contrast(lo, hi) => {
                let (lo, hi) = (f32::from(lo), f32::from(hi));
                for p in img.pixels_mut() {
                    p.0[0] = (lo + f32::from(p.0[0]) * (hi - lo) / 255.0).round() as u8;
                }
            }
            Step::Lighting(min) => {
                let (w, h) = (img.width() as f32, img.height() as f32);
                let angle = rng.gen_range(0.0..std::f32::consts::TAU);
                let (dx, dy) = (angle.cos(), angle.sin());
                let (gx, gy) = (rng.gen_range(0.2..0.8) * w, rng.gen_range(0.2..0.8) * h);
                let glare_r = 0.25 * w.min(h);
                for (x, y, p) in img.enumerate_pixels_mut() {
                    let (fx, fy) = (x as f32 / w - 0.5, y as f32 / h - 0.5);
                    let t = ((fx * dx + fy * dy) / std::f32::consts::SQRT_2 + 0.5).clamp(0.0, 1.0);
                    let gain = 1.0 - t * (1.0 - min);
                    let d2 =
                        ((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)) / (glare_r * glare_r);
                    let glare = 60.0 * (-d2).exp();
                    p.0[0] = (f32::from(p.0[0]) * gain + glare).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    match jpeg {
        Some(bytes) => Photo::Jpeg(bytes),
        None => Photo::Gray(img),
    }
}

/// What a decoder made of one image of a known frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The frame's own text was read.
    Decoded,
    /// Nothing was read.
    Missed,
    /// Some text other than the frame's was read.
    Wrong,
}

/// Classifies a decoder's texts for an image of `expected`.
pub fn outcome(texts: &[String], expected: &str) -> Outcome {
    if texts.iter().any(|t| t != expected) {
        Outcome::Wrong
    } else if texts.is_empty() {
        Outcome::Missed
    } else {
        Outcome::Decoded
    }
}

/// Reads all QR codes with `rqrr`, for comparison.
pub fn scan_rqrr(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

/// A seeded RNG.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
