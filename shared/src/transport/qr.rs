//! QR rendering of UR frames: PNG (one frame), animated GIF (all frames, looping) and
//! Unicode half-block text for terminals.
//!
//! Images always carry the 4-module quiet zone the QR standard asks for, with at least
//! 4 pixels per module ([`super::MODULE_PX_RANGE`]); cheap webcams and phone photos lose
//! finer detail. The library returns bytes and strings, it never prints.

#[cfg(feature = "gif")]
use std::io::Cursor;

#[cfg(feature = "gif")]
use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::PngEncoder;
#[cfg(feature = "gif")]
use image::{Delay, Frame, Rgba, RgbaImage};
use image::{ImageEncoder, Luma};
use qrcode::render::unicode::Dense1x2;
use qrcode::{QrCode, Version};

use super::{EcLevel, FrameOptions, TransportError, UrFrame};

/// Builds the QR code of one frame at the given level, at the smallest version that
/// fits or at `version` when given (animations keep one version for every frame).
pub(crate) fn build_code(
    frame: &UrFrame,
    ec_level: EcLevel,
    version: Option<Version>,
) -> Result<QrCode, TransportError> {
    code_of(frame.as_str(), ec_level, version).map_err(|reason| TransportError::QrEncode {
        frame: frame.label(),
        reason,
    })
}

fn code_of(text: &str, ec_level: EcLevel, version: Option<Version>) -> Result<QrCode, String> {
    let data = text.as_bytes();
    match version {
        Some(version) => QrCode::with_version(data, version, ec_level.to_qrcode()),
        None => QrCode::with_error_correction_level(data, ec_level.to_qrcode()),
    }
    .map_err(|e| e.to_string())
}

fn luma_image(code: &QrCode, module_px: u32) -> image::GrayImage {
    code.render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .build()
}

fn encode_png(img: &image::GrayImage) -> Result<Vec<u8>, TransportError> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| TransportError::ImageEncode {
            format: "PNG",
            reason: e.to_string(),
        })?;
    Ok(png)
}

/// Renders one frame as a black-on-white PNG (`opts.module_px` pixels per module,
/// 4-module quiet zone, `opts.ec_level`).
///
/// # Errors
/// [`TransportError::InvalidOptions`], [`TransportError::QrEncode`] when the frame does
/// not fit a QR code, [`TransportError::ImageEncode`].
pub fn render_png(frame: &UrFrame, opts: &FrameOptions) -> Result<Vec<u8>, TransportError> {
    opts.validate()?;
    let code = build_code(frame, opts.ec_level, None)?;
    encode_png(&luma_image(&code, opts.module_px))
}

/// Renders every frame onto one black-on-white PNG "sheet", `columns` codes per row with
/// `gap_px` white pixels between them (beside each code's own quiet zone). A scanner
/// reads several codes per image in any order, so a still sheet carries a whole payload.
///
/// # Errors
/// As [`render_png`]; [`TransportError::InvalidOptions`] for no frames or no columns.
pub fn render_sheet_png(
    frames: &[UrFrame],
    opts: &FrameOptions,
    columns: u32,
    gap_px: u32,
) -> Result<Vec<u8>, TransportError> {
    opts.validate()?;
    let count = u32::try_from(frames.len()).unwrap_or(u32::MAX);
    if count == 0 || columns == 0 {
        return Err(TransportError::InvalidOptions {
            reason: "a sheet needs at least one frame and one column".to_owned(),
        });
    }
    let codes = frames
        .iter()
        .map(|frame| {
            Ok(luma_image(
                &build_code(frame, opts.ec_level, None)?,
                opts.module_px,
            ))
        })
        .collect::<Result<Vec<_>, TransportError>>()?;
    let cell = codes
        .iter()
        .map(|c| c.width().max(c.height()))
        .max()
        .unwrap_or(0);
    let columns = count.min(columns);
    let rows = count.div_ceil(columns);
    let width = columns * cell + (columns + 1) * gap_px;
    let height = rows * cell + (rows + 1) * gap_px;
    let mut sheet = image::GrayImage::from_pixel(width, height, Luma([255]));
    for (i, code) in (0u32..).zip(&codes) {
        let x = gap_px + (i % columns) * (cell + gap_px);
        let y = gap_px + (i / columns) * (cell + gap_px);
        image::imageops::replace(&mut sheet, code, i64::from(x), i64::from(y));
    }
    encode_png(&sheet)
}

/// Renders any short text (not a UR frame: a signature, an address) as a black-on-white
/// PNG QR code with the 4-module quiet zone.
///
/// # Errors
/// [`TransportError::QrEncode`] when the text does not fit a QR code,
/// [`TransportError::ImageEncode`].
pub fn render_text_png(
    text: &str,
    ec_level: EcLevel,
    module_px: u32,
) -> Result<Vec<u8>, TransportError> {
    let code = code_of(text, ec_level, None).map_err(|reason| TransportError::QrEncode {
        frame: "text".to_owned(),
        reason,
    })?;
    encode_png(&luma_image(&code, module_px))
}

/// Renders any short text as terminal half-blocks (see [`render_terminal`]) with the size
/// it takes on a terminal (columns, rows; see [`super::drawn_size`]), so a caller can
/// check that it fits before drawing it.
///
/// # Errors
/// [`TransportError::QrEncode`] when the text does not fit a QR code.
pub fn render_text_terminal_sized(
    text: &str,
    ec_level: EcLevel,
) -> Result<(String, (usize, usize)), TransportError> {
    let code = code_of(text, ec_level, None).map_err(|reason| TransportError::QrEncode {
        frame: "text".to_owned(),
        reason,
    })?;
    Ok((draw_half_blocks(&code), super::drawn_size(code.width())))
}

#[cfg(feature = "gif")]
/// Renders frames as a looping animated GIF at `opts.fps` frames per second. Every
/// frame uses the same QR version, so the code keeps its size and place on screen.
///
/// # Errors
/// As [`render_png`]; [`TransportError::InvalidOptions`] for an empty frame list.
pub fn render_gif(frames: &[UrFrame], opts: &FrameOptions) -> Result<Vec<u8>, TransportError> {
    opts.validate()?;
    if frames.is_empty() {
        return Err(TransportError::InvalidOptions {
            reason: "no frames to animate".to_owned(),
        });
    }
    let mut version = Version::Normal(1);
    for frame in frames {
        let code_version = build_code(frame, opts.ec_level, None)?.version();
        if code_version.width() > version.width() {
            version = code_version;
        }
    }
    let gif_error = |e: image::ImageError| TransportError::ImageEncode {
        format: "GIF",
        reason: e.to_string(),
    };
    let mut gif = Vec::new();
    {
        // Speed 30 (fastest quantiser) is exact here: the images have two colours.
        let mut encoder = GifEncoder::new_with_speed(Cursor::new(&mut gif), 30);
        encoder.set_repeat(Repeat::Infinite).map_err(gif_error)?;
        let delay = Delay::from_numer_denom_ms(1000, opts.fps);
        for frame in frames {
            let code = build_code(frame, opts.ec_level, Some(version))?;
            let luma = luma_image(&code, opts.module_px);
            let rgba = RgbaImage::from_fn(luma.width(), luma.height(), |x, y| {
                let v = luma.get_pixel(x, y)[0];
                Rgba([v, v, v, 255])
            });
            encoder
                .encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .map_err(gif_error)?;
        }
    }
    Ok(gif)
}

/// Renders one frame as Unicode half-block text (two modules per character row) with
/// its quiet zone, light modules drawn as blocks so it scans on a dark terminal.
///
/// # Errors
/// [`TransportError::QrEncode`] when the frame does not fit a QR code at `ec_level`.
pub fn render_terminal(frame: &UrFrame, ec_level: EcLevel) -> Result<String, TransportError> {
    Ok(draw_half_blocks(&build_code(frame, ec_level, None)?))
}

/// Draws a code as half-block text with its quiet zone, light modules as blocks.
pub(crate) fn draw_half_blocks(code: &QrCode) -> String {
    code.render::<Dense1x2>()
        .quiet_zone(true)
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "gif")]
    use crate::transport::FrameCollector;
    use crate::transport::{decode_image, encode_frames};

    fn payload() -> Vec<u8> {
        (0..900u32).map(|i| (i * 7 % 256) as u8).collect()
    }

    #[test]
    fn png_has_quiet_zone_and_module_size_and_scans() {
        let opts = FrameOptions {
            module_px: 5,
            ..FrameOptions::default()
        };
        let frames = encode_frames(&payload(), &opts).expect("encode");
        let png = render_png(&frames[0], &opts).expect("png");
        let img = image::load_from_memory(&png)
            .expect("decode png")
            .to_luma8();
        let code = build_code(&frames[0], opts.ec_level, None).expect("code");
        let modules = code.width() as u32 + 8;
        assert_eq!(img.width(), modules * 5);
        // Quiet zone: the outer 4 modules are white; the finder pattern starts after it.
        assert!(
            (0..20).all(|i| img.get_pixel(i, i)[0] == 255
                && img.get_pixel(img.width() - 1 - i, i)[0] == 255)
        );
        assert_eq!(img.get_pixel(20, 20)[0], 0);
        assert_eq!(
            decode_image(&png).expect("scan"),
            vec![frames[0].as_str().to_owned()]
        );
    }

    #[cfg(feature = "gif")]
    #[test]
    fn gif_frames_share_one_size_and_decode() {
        let opts = FrameOptions {
            fragment_len: 100,
            ..FrameOptions::default()
        };
        let frames = encode_frames(&payload(), &opts).expect("encode");
        let gif = render_gif(&frames, &opts).expect("gif");
        let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(&gif)).expect("gif decoder");
        let decoded = image::AnimationDecoder::into_frames(decoder)
            .collect_frames()
            .expect("frames");
        assert_eq!(decoded.len(), frames.len());
        let mut collector = FrameCollector::new();
        for frame in &decoded {
            assert_eq!(
                frame.buffer().dimensions(),
                decoded[0].buffer().dimensions()
            );
            assert_eq!(frame.delay(), Delay::from_numer_denom_ms(1000, opts.fps));
            let mut png = Vec::new();
            image::DynamicImage::ImageRgba8(frame.buffer().clone())
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .expect("png");
            for text in decode_image(&png).expect("scan") {
                collector.push(&text).expect("push");
            }
        }
        assert_eq!(collector.finish().expect("finish"), payload());
        assert!(render_gif(&[], &opts).is_err());
    }

    #[test]
    fn terminal_rendering_is_half_blocks() {
        let frames = encode_frames(b"hello", &FrameOptions::default()).expect("encode");
        let text = render_terminal(&frames[0], EcLevel::M).expect("terminal");
        let code = build_code(&frames[0], EcLevel::M, None).expect("code");
        let rows = (code.width() + 8).div_ceil(2);
        assert_eq!(text.lines().count(), rows);
        assert!(text.lines().all(|l| l.chars().count() == code.width() + 8));
        assert!(
            text.chars()
                .all(|c| matches!(c, '█' | '▀' | '▄' | ' ' | '\n'))
        );
    }

    #[test]
    fn module_px_below_four_refused() {
        let frames = encode_frames(b"hello", &FrameOptions::default()).expect("encode");
        let opts = FrameOptions {
            module_px: 2,
            ..FrameOptions::default()
        };
        assert!(matches!(
            render_png(&frames[0], &opts),
            Err(TransportError::InvalidOptions { .. })
        ));
    }
}
