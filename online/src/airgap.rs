//! Writing a file for the trip back across the air gap: one PNG per QR frame, an
//! animated GIF cycling through them, and the UR text of the frames, all rendered by
//! `keyexport_shared::transport` and written with `fsio::write_new` (atomic, no clobber).

use std::path::{Path, PathBuf};

use crate::error::FramesError;
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::transport::{FrameOptions, encode_frames, render_gif, render_png};

/// The files written for one payload.
#[derive(Debug, Clone)]
pub struct FrameFiles {
    /// One PNG per frame, in order.
    pub pngs: Vec<PathBuf>,
    /// The animated GIF.
    pub gif: PathBuf,
    /// One UR frame per line.
    pub ur_text: PathBuf,
}

/// The names used for `stem` in `dir`: `{stem}-qr-NN.png`, `{stem}-qr.gif`, `{stem}.ur.txt`.
pub fn gif_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}-qr.gif"))
}

/// See [`gif_path`].
pub fn ur_text_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.ur.txt"))
}

fn png_path(dir: &Path, stem: &str, index: usize) -> PathBuf {
    dir.join(format!("{stem}-qr-{index:02}.png"))
}

/// Existing files in `dir` that writing frames for `stem` would collide with.
pub fn collisions(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = format!("{stem}-qr");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) || n == format!("{stem}.ur.txt"))
        })
        .collect();
    found.sort();
    found
}

/// Existing files in `dir` among `names` and the frames of `stem`: a folder an export
/// writes to must hold none of them.
pub fn taken(dir: &Path, names: &[&str], stem: &str) -> Vec<PathBuf> {
    let mut taken: Vec<PathBuf> = names
        .iter()
        .map(|name| dir.join(name))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    taken.extend(collisions(dir, stem));
    taken
}

impl FrameFiles {
    /// Every file: the PNGs in order, the GIF, the UR text.
    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.pngs.iter().chain([&self.gif, &self.ur_text])
    }
}

/// Encodes `payload` into frames and writes the PNGs, the GIF and the UR text.
pub fn write_frames(
    dir: &Path,
    stem: &str,
    payload: &[u8],
    options: &FrameOptions,
) -> Result<FrameFiles, FramesError> {
    let frames = encode_frames(payload, options)?;
    let mut pngs = Vec::with_capacity(frames.len());
    for (index, frame) in frames.iter().enumerate() {
        let png = render_png(frame, options)?;
        let path = png_path(dir, stem, index + 1);
        write_new(&path, &png, FileMode::Public)?;
        pngs.push(path);
    }
    let gif = gif_path(dir, stem);
    let animation = render_gif(&frames, options)?;
    write_new(&gif, &animation, FileMode::Public)?;
    let ur_text = ur_text_path(dir, stem);
    let mut text = String::new();
    for frame in &frames {
        text.push_str(frame.as_str());
        text.push('\n');
    }
    write_new(&ur_text, text.as_bytes(), FileMode::Public)?;
    Ok(FrameFiles { pngs, gif, ur_text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyexport_shared::transport::{FrameCollector, decode_image};

    #[test]
    fn written_frames_decode_back_to_the_payload() {
        let dir = tempfile::tempdir().unwrap();
        let payload: Vec<u8> = (0..1500u32).map(|i| (i * 7 % 251) as u8).collect();
        let files =
            write_frames(dir.path(), "response", &payload, &FrameOptions::default()).unwrap();
        assert!(files.pngs.len() > 1);
        let mut collector = FrameCollector::new();
        for png in &files.pngs {
            for text in decode_image(&std::fs::read(png).unwrap()).unwrap() {
                collector.push(&text).unwrap();
            }
        }
        assert_eq!(collector.finish().unwrap(), payload);
        let mut from_text = FrameCollector::new();
        for line in std::fs::read_to_string(&files.ur_text).unwrap().lines() {
            from_text.push(line).unwrap();
        }
        assert_eq!(from_text.finish().unwrap(), payload);
        assert_eq!(
            collisions(dir.path(), "response").len(),
            files.pngs.len() + 2
        );
        assert!(write_frames(dir.path(), "response", &payload, &FrameOptions::default()).is_err());
    }
}
