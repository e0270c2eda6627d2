//! Lower-bar robustness check of the QR transport on a small photo-like corpus (the
//! full corpus and the decoder comparison are in the `transport_robustness` benchmark).
//!
//! Every frame of a 5-share response is rendered at the minimum 4 px per module and
//! degraded by one corpus class (cycling through all classes): at least 90 % of the
//! images must decode, none may decode to another text, and the decoded frames must
//! rebuild the exact response.

use keyexport_shared::transport::{FrameCollector, FrameOptions, encode_frames, payload_digest};

use super::corpus::{CLASSES, Outcome, degrade, outcome, render, rng, synthetic_response};

#[test]
fn small_photo_corpus_decodes_and_rebuilds_the_payload() {
    let payload = synthetic_response(5, 1);
    let opts = FrameOptions {
        module_px: 4,
        ..FrameOptions::default()
    };
    let frames = encode_frames(&payload, &opts).expect("encode");
    let mut rng = rng(7);
    let mut collector = FrameCollector::new();
    let (mut decoded, mut wrong, mut total) = (0, 0, 0);
    // At least 30 images; every class at least twice.
    let images = frames.len().max(2 * CLASSES.len()).max(30);
    for i in 0..images {
        let frame = &frames[i % frames.len()];
        let class = &CLASSES[i % CLASSES.len()];
        let steps = class.steps(&mut rng);
        let photo = degrade(&render(frame, &opts), 4.0, &steps, &mut rng);
        let texts = photo.scan().unwrap_or_default();
        total += 1;
        match outcome(&texts, frame.as_str()) {
            Outcome::Decoded => decoded += 1,
            Outcome::Missed => {}
            Outcome::Wrong => wrong += 1,
        }
        for text in &texts {
            let _ = collector.push(text);
        }
    }
    assert_eq!(wrong, 0, "wrong decodes");
    assert!(
        decoded * 100 >= total * 90,
        "decoded {decoded} of {total} images"
    );
    let rebuilt = collector
        .finish()
        .expect("payload rebuilt from the decoded frames");
    assert_eq!(payload_digest(&rebuilt), payload_digest(&payload));
    assert_eq!(rebuilt, payload);
}
