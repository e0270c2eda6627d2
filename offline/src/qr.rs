//! Showing a file as QR codes: a PNG sheet of every frame (`show` plays them in the
//! terminal).
//!
//! The request file is larger than one QR code holds, so `keyexport_shared::transport`
//! cuts it into UR frames. For a still image all frames are laid out on one PNG "sheet"
//! (the scanner reads several codes per image, in any order); no fountain-mixed extra
//! frames are needed there because every frame is always in view.

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
    transport::render_sheet_png(frames, &sheet_options(), SHEET_COLUMNS, GAP_PX).map_err(|source| {
        CliError::Transport {
            input: "request QR code".into(),
            source,
        }
    })
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
