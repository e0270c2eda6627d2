//! Showing a file as QR codes: a PNG sheet of every frame (`show` plays them in the
//! terminal).
//!
//! The request file is larger than one QR code holds, so `keyexport_shared::transport`
//! cuts it into UR frames. For a still image all frames are laid out on one PNG "sheet"
//! (the scanner reads several codes per image, in any order); no fountain-mixed extra
//! frames are needed there because every frame is always in view.

use image::{GrayImage, Luma};
use keyexport_shared::transport::{self, FrameOptions, UrFrame};

use crate::error::{CliError, CliResult};

/// Payload bytes per frame of the sheet: few, mid-sized codes that phones and webcams
/// read easily at the sheet's size.
const SHEET_FRAGMENT_LEN: usize = 400;
/// Codes per row of the sheet.
const SHEET_COLUMNS: u32 = 3;
/// White gap between codes, in pixels (in addition to each code's quiet zone).
const GAP_PX: u32 = 24;

/// The frames of `payload` for a still sheet.
pub fn sheet_frames(payload: &[u8]) -> CliResult<Vec<UrFrame>> {
    let options = sheet_options();
    transport::encode_frames(payload, &options).map_err(|source| CliError::Transport {
        input: "request QR code".into(),
        source,
    })
}

fn sheet_options() -> FrameOptions {
    FrameOptions {
        fragment_len: SHEET_FRAGMENT_LEN,
        extra_frames_percent: 0,
        ..FrameOptions::default()
    }
}

/// Renders every frame onto one PNG, `SHEET_COLUMNS` codes per row.
pub fn sheet_png(frames: &[UrFrame]) -> CliResult<Vec<u8>> {
    let options = sheet_options();
    let transport_error = |source| CliError::Transport {
        input: "request QR code".into(),
        source,
    };
    let mut codes = Vec::with_capacity(frames.len());
    for frame in frames {
        let png = transport::render_png(frame, &options).map_err(transport_error)?;
        let code = image::load_from_memory(&png)
            .map_err(|e| CliError::Internal(format!("reading back a rendered QR code: {e}")))?
            .to_luma8();
        codes.push(code);
    }
    let cell = codes
        .iter()
        .map(|c| c.width().max(c.height()))
        .max()
        .unwrap_or(0);
    let count =
        u32::try_from(codes.len()).map_err(|_| CliError::Internal("too many frames".into()))?;
    let columns = count.clamp(1, SHEET_COLUMNS);
    let rows = count.div_ceil(columns).max(1);
    let width = columns * cell + (columns + 1) * GAP_PX;
    let height = rows * cell + (rows + 1) * GAP_PX;
    let mut sheet = GrayImage::from_pixel(width, height, Luma([255]));
    for (i, code) in (0u32..).zip(&codes) {
        let x = GAP_PX + (i % columns) * (cell + GAP_PX);
        let y = GAP_PX + (i / columns) * (cell + GAP_PX);
        image::imageops::replace(&mut sheet, code, i64::from(x), i64::from(y));
    }
    let mut png = Vec::new();
    sheet
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| CliError::Internal(format!("writing the QR sheet: {e}")))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_scans_back_to_the_payload() {
        let payload: Vec<u8> = (0..1500u32).map(|i| (i * 7 % 251) as u8).collect();
        let frames = sheet_frames(&payload).unwrap();
        assert!(frames.len() >= 4, "{} frames", frames.len());
        let png = sheet_png(&frames).unwrap();
        let texts = transport::decode_image(&png).unwrap();
        let mut collector = transport::FrameCollector::new();
        for text in &texts {
            collector.push(text).unwrap();
        }
        assert!(collector.is_complete(), "{} codes read", texts.len());
        assert_eq!(collector.finish().unwrap(), payload);
    }
}
