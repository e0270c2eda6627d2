//! Finding and reading QR codes in images (photos, screenshots, scanned frames).
//!
//! Uses `rxing`'s QR reader (a port of zxing-cpp's) in "try harder" mode, looking for
//! several codes per image. A photo of a screen is often blurred, skewed, dim or
//! inverted, so the image is tried in several passes (local and global thresholding,
//! inverted, down- and up-scaled) until one of them finds a code. The pass list was
//! chosen with the `transport_robustness` benchmark (see `docs/transport-robustness.md`).

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{GrayImage, ImageFormat, ImageReader, Limits};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource};

use super::TransportError;

/// Largest accepted image side in pixels (a 50-megapixel photo is 8660 px wide).
const MAX_IMAGE_SIDE: u32 = 12_000;
/// Largest memory the image decoder may allocate.
const MAX_IMAGE_ALLOC: u64 = 512 * 1024 * 1024;
/// Images are first reduced to at most this side: more pixels only slow the search
/// down (a QR module needs a few pixels, not dozens).
const WORKING_SIDE: u32 = 2000;
/// Images with a longer side than this are also tried at double size, so modules of
/// about 2 pixels get enough pixels for the sampler.
const UPSCALE_BELOW: u32 = 800;

/// What the first bytes of a file say it is. Only PNG and JPEG are decoded; the other
/// formats are recognised so the error can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG (`\x89PNG\r\n\x1a\n`).
    Png,
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// Another image format, by name ("TIFF", "GIF", …): refused.
    Unsupported(&'static str),
}

/// Recognises an image by its content (never by its name), or `None` when the bytes
/// start like no image format known here.
pub fn sniff_image(bytes: &[u8]) -> Option<ImageKind> {
    const OTHERS: [(&[u8], &str); 12] = [
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"BM", "BMP"),
        (b"\0\0\x01\0", "ICO"),
        (b"qoif", "QOI"),
        (b"v/1\x01", "OpenEXR"),
        (b"DDS ", "DDS"),
        (b"farbfeld", "farbfeld"),
        (b"#?RADIANCE", "Radiance HDR"),
        (b"\xff\x0a", "JPEG XL"),
    ];
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(ImageKind::Png);
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some(ImageKind::Jpeg);
    }
    if let Some((_, name)) = OTHERS.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(ImageKind::Unsupported(name));
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some(ImageKind::Unsupported("WebP"));
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        if brand == b"avif" || brand == b"avis" {
            return Some(ImageKind::Unsupported("AVIF"));
        }
        if [b"heic", b"heix", b"mif1", b"msf1"]
            .iter()
            .any(|b| brand == *b)
        {
            return Some(ImageKind::Unsupported("HEIF/HEIC"));
        }
    }
    if bytes.len() >= 3
        && bytes[0] == b'P'
        && (b'1'..=b'7').contains(&bytes[1])
        && bytes[2].is_ascii_whitespace()
    {
        return Some(ImageKind::Unsupported("PNM"));
    }
    None
}

/// Returns the texts of all QR codes found in a PNG or JPEG image, in order of
/// discovery, without duplicates. The format is taken from the content; every other
/// format is refused by name, so no decoder the job does not need ever runs.
///
/// # Errors
/// [`TransportError::UnsupportedImage`] for another image format,
/// [`TransportError::ImageUnreadable`] when the bytes are not a PNG or JPEG image or
/// exceed the size limits; [`TransportError::NoQrCode`] when no code is found.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, TransportError> {
    let unreadable = |reason: String| TransportError::ImageUnreadable { reason };
    let format = match sniff_image(bytes) {
        Some(ImageKind::Png) => ImageFormat::Png,
        Some(ImageKind::Jpeg) => ImageFormat::Jpeg,
        Some(ImageKind::Unsupported(format)) => {
            return Err(TransportError::UnsupportedImage { format });
        }
        None => return Err(unreadable("not a PNG or JPEG image".to_owned())),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| unreadable(e.to_string()))?;
    decode_luma(&image.to_luma8())
}

/// Reads an image file (a regular file within [`crate::input::IMAGE`]) and returns the
/// texts of its QR codes (see [`decode_image`]).
///
/// # Errors
/// [`TransportError::FileUnreadable`] naming the file, or as [`decode_image`].
pub fn decode_image_file(path: &Path) -> Result<Vec<String>, TransportError> {
    let bytes = crate::input::read(path, crate::input::IMAGE).map_err(|e| {
        TransportError::FileUnreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    decode_image(&bytes)
}

/// The PNG and JPEG files (by extension, case-insensitive: `.png`, `.jpg`, `.jpeg`)
/// directly inside `dir`, sorted by name, so a directory of exported frames or photos
/// can be scanned in order. Other files are left out; a file named like an image is
/// still decoded by its content (see [`decode_image`]).
///
/// # Errors
/// [`TransportError::FileUnreadable`] when the directory cannot be listed.
pub fn image_files_in(dir: &Path) -> Result<Vec<PathBuf>, TransportError> {
    let unreadable = |e: std::io::Error| TransportError::FileUnreadable {
        path: dir.to_path_buf(),
        reason: e.kind().to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if has_image_extension(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether the file name ends in `.png`, `.jpg` or `.jpeg` (any case).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| e.eq_ignore_ascii_case(known))
    })
}

/// The extensions of image files picked from a folder.
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Returns the texts of all QR codes found in a grayscale image (see [`decode_image`]).
///
/// # Errors
/// [`TransportError::NoQrCode`] when no code is found.
pub fn decode_luma(image: &GrayImage) -> Result<Vec<String>, TransportError> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Err(TransportError::NoQrCode);
    }
    let working = fit_within(image, WORKING_SIDE);
    let mut found = Vec::new();
    for pass in PASSES {
        let Some(scaled) = pass.prepare(&working) else {
            continue;
        };
        for text in pass.run(&scaled) {
            if !found.contains(&text) {
                found.push(text);
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    if found.is_empty() {
        Err(TransportError::NoQrCode)
    } else {
        Ok(found)
    }
}

fn fit_within(image: &GrayImage, side: u32) -> GrayImage {
    let (w, h) = image.dimensions();
    let longest = w.max(h);
    if longest <= side {
        return image.clone();
    }
    let scale = f64::from(side) / f64::from(longest);
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    imageops::resize(image, nw, nh, FilterType::Triangle)
}

/// How an image is binarised before the finder-pattern search.
#[derive(Debug, Clone, Copy)]
enum Threshold {
    /// Local (8x8 block) thresholds: copes with uneven lighting.
    Hybrid,
    /// One global threshold: copes with blur and low contrast.
    Global,
}

/// One attempt at finding codes.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Scale factor in percent of the working image.
    scale_percent: u32,
    threshold: Threshold,
    /// Light modules on dark ground (a terminal QR photographed, an inverted screen).
    inverted: bool,
    /// Unsharp mask first: restores module edges in an out-of-focus photo.
    sharpen: bool,
}

/// The passes, in order; scanning stops after the first pass that finds a code.
const PASSES: [Pass; 7] = [
    Pass {
        scale_percent: 100,
        threshold: Threshold::Hybrid,
        inverted: false,
        sharpen: false,
    },
    Pass {
        scale_percent: 100,
        threshold: Threshold::Global,
        inverted: false,
        sharpen: false,
    },
    Pass {
        scale_percent: 100,
        threshold: Threshold::Hybrid,
        inverted: false,
        sharpen: true,
    },
    Pass {
        scale_percent: 50,
        threshold: Threshold::Hybrid,
        inverted: false,
        sharpen: false,
    },
    Pass {
        scale_percent: 200,
        threshold: Threshold::Hybrid,
        inverted: false,
        sharpen: false,
    },
    Pass {
        scale_percent: 100,
        threshold: Threshold::Hybrid,
        inverted: true,
        sharpen: false,
    },
    Pass {
        scale_percent: 50,
        threshold: Threshold::Global,
        inverted: true,
        sharpen: false,
    },
];

impl Pass {
    /// The image this pass works on, or `None` when the pass does not apply (upscaling
    /// an image that is already large, downscaling one that is already small).
    fn prepare(&self, image: &GrayImage) -> Option<GrayImage> {
        let (w, h) = image.dimensions();
        let mut scaled = match self.scale_percent {
            100 => image.clone(),
            p if p > 100 && w.max(h) >= UPSCALE_BELOW => return None,
            p if p < 100 && w.max(h) < 200 => return None,
            p => {
                let nw = (w * p / 100).max(1);
                let nh = (h * p / 100).max(1);
                imageops::resize(image, nw, nh, FilterType::Triangle)
            }
        };
        if self.sharpen {
            // Sigma of about one module at the 4 px/module minimum; threshold 0 keeps
            // the weak edges that blur leaves.
            scaled = imageops::unsharpen(&scaled, 3.0, 0);
        }
        if self.inverted {
            imageops::invert(&mut scaled);
        }
        Some(scaled)
    }

    /// Runs the QR reader; a panic inside the third-party reader on a hostile image
    /// counts as "nothing found" instead of taking the caller down.
    fn run(&self, image: &GrayImage) -> Vec<String> {
        let (w, h) = image.dimensions();
        let luma = image.as_raw().clone();
        let threshold = self.threshold;
        catch_unwind(AssertUnwindSafe(move || read_codes(luma, w, h, threshold)))
            .unwrap_or_default()
    }
}

fn read_codes(luma: Vec<u8>, width: u32, height: u32, threshold: Threshold) -> Vec<String> {
    let Ok(source) = Luma8LuminanceSource::new(luma, width, height) else {
        return Vec::new();
    };
    let hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        ..DecodeHints::default()
    };
    let results = match threshold {
        Threshold::Hybrid => QrReader.decode_multiple_with_hints(
            &mut BinaryBitmap::new(HybridBinarizer::new(source)),
            &hints,
        ),
        Threshold::Global => QrReader.decode_multiple_with_hints(
            &mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)),
            &hints,
        ),
    };
    results
        .map(|results| {
            results
                .iter()
                .filter(|r| *r.getBarcodeFormat() == BarcodeFormat::QR_CODE)
                .map(|r| r.getText().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{FrameOptions, encode_frames, render_png};
    use proptest::prelude::*;

    fn frame_png(payload: &[u8]) -> (String, Vec<u8>) {
        let opts = FrameOptions::default();
        let frames = encode_frames(payload, &opts).expect("encode");
        let png = render_png(&frames[0], &opts).expect("png");
        (frames[0].as_str().to_owned(), png)
    }

    #[test]
    fn finds_inverted_code() {
        let (text, png) = frame_png(b"inverted frame");
        let mut img = image::load_from_memory(&png).expect("png").to_luma8();
        imageops::invert(&mut img);
        assert_eq!(decode_luma(&img).expect("scan"), vec![text]);
    }

    #[test]
    fn finds_several_codes_in_one_image() {
        let opts = FrameOptions {
            fragment_len: 60,
            ..FrameOptions::default()
        };
        let frames = encode_frames(&[42u8; 200], &opts).expect("encode");
        let tiles: Vec<GrayImage> = frames[..4]
            .iter()
            .map(|f| {
                image::load_from_memory(&render_png(f, &opts).expect("png"))
                    .expect("load")
                    .to_luma8()
            })
            .collect();
        let side = tiles.iter().map(|t| t.width()).max().expect("tiles");
        let mut grid = GrayImage::from_pixel(side * 2, side * 2, image::Luma([255]));
        for (i, tile) in tiles.iter().enumerate() {
            imageops::overlay(
                &mut grid,
                tile,
                i64::from(side * (i as u32 % 2)),
                i64::from(side * (i as u32 / 2)),
            );
        }
        let mut found = decode_luma(&grid).expect("scan");
        found.sort();
        let mut expected: Vec<String> = frames[..4].iter().map(|f| f.as_str().to_owned()).collect();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn blank_and_garbage_images() {
        let blank = GrayImage::from_pixel(300, 200, image::Luma([255]));
        assert_eq!(decode_luma(&blank), Err(TransportError::NoQrCode));
        assert_eq!(
            decode_luma(&GrayImage::new(0, 0)),
            Err(TransportError::NoQrCode)
        );
        assert!(matches!(
            decode_image(b"not an image"),
            Err(TransportError::ImageUnreadable { .. })
        ));
        for (bytes, name) in [
            (&b"II*\0\x08\0\0\0rest of a tiff"[..], "TIFF"),
            (b"GIF89a\x01\0\x01\0", "GIF"),
            (b"BM\x1e\0\0\0", "BMP"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "WebP"),
            (b"\0\0\0\x1cftypavif", "AVIF"),
        ] {
            let err = decode_image(bytes).unwrap_err();
            assert_eq!(err, TransportError::UnsupportedImage { format: name });
            assert_eq!(
                err.to_string(),
                format!("{name} is not supported: use PNG or JPEG")
            );
        }
        let (_, png) = frame_png(b"x");
        assert!(matches!(
            decode_image(&png[..png.len() / 2]),
            Err(TransportError::ImageUnreadable { .. })
        ));
    }

    #[test]
    fn directory_of_frames_scans_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = FrameOptions {
            fragment_len: 60,
            ..FrameOptions::default()
        };
        let frames = encode_frames(&[9u8; 150], &opts).expect("encode");
        for (i, frame) in frames.iter().enumerate() {
            let png = render_png(frame, &opts).expect("png");
            std::fs::write(dir.path().join(format!("frame-{i:02}.PNG")), png).expect("write");
        }
        std::fs::write(dir.path().join("notes.txt"), "not an image").expect("write");
        let files = image_files_in(dir.path()).expect("list");
        assert_eq!(files.len(), frames.len());
        let mut collector = crate::transport::FrameCollector::new();
        for file in &files {
            for text in decode_image_file(file).expect("scan") {
                collector.push(&text).expect("push");
            }
        }
        assert_eq!(collector.finish().expect("finish"), vec![9u8; 150]);
        assert!(matches!(
            decode_image_file(&dir.path().join("missing.png")),
            Err(TransportError::FileUnreadable { .. })
        ));
        assert!(matches!(
            image_files_in(&dir.path().join("missing")),
            Err(TransportError::FileUnreadable { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn mutated_png_never_panics_or_lies(position in any::<usize>(), value in any::<u8>(), count in 1usize..8) {
            let (text, mut png) = frame_png(b"mutation target payload");
            for i in 0..count {
                let at = position.wrapping_add(i * 977) % png.len();
                png[at] = value;
            }
            if let Ok(found) = decode_image(&png) {
                prop_assert!(found.iter().all(|t| *t == text));
            }
        }

        #[test]
        fn random_pixels_never_panic(pixels in proptest::collection::vec(any::<u8>(), 64 * 64)) {
            let img = GrayImage::from_raw(64, 64, pixels).expect("64x64 buffer");
            let _ = decode_luma(&img);
        }
    }
}
