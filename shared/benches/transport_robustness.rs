//! Transport robustness benchmark: prints the measurements behind the QR defaults and
//! the decoder choice (`cargo bench -p keyexport-shared --bench transport_robustness`).
//!
//! 1. Frame counts and bytes per frame for 3-, 5- and 7-share responses.
//! 2. Fragment length x EC level sweep at a fixed camera resolution: bigger frames need
//!    fewer of them but give each module fewer camera pixels.
//! 3. Extra fountain frames vs. frames a receiver must watch when it misses some.
//! 4. The degradation corpus (every frame of a 5-share response x every class), read by
//!    `rxing` (the product's scanner) and by `rqrr`, with per-class frame decode rates,
//!    whole-payload recovery and wrong decodes.
//!
//! Deterministic: every random choice comes from a fixed seed. The results are recorded
//! in `docs/transport-robustness.md`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/transport/corpus.rs"]
mod corpus;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use corpus::{
    CLASSES, Outcome, Step, degrade, outcome, render, rng, scan_rqrr, synthetic_response,
};
use keyexport_shared::transport::{
    EcLevel, FrameCollector, FrameOptions, UrFrame, encode_frames, render_png,
};
use rand::Rng;

/// Pixels a cheap webcam (640x480) or a phone preview gives the code, quiet zone
/// included, when the operator holds it so the code fills about two thirds of the
/// frame height.
const CAMERA_PX: f32 = 320.0;

fn main() {
    let started = Instant::now();
    frame_counts();
    parameter_sweep();
    redundancy_sweep();
    corpus_table();
    println!("\ntotal run time: {:.0} s", started.elapsed().as_secs_f64());
}

/// QR modules per side (without quiet zone) of a frame at the given level.
fn modules(frame: &UrFrame, ec_level: EcLevel) -> u32 {
    let opts = FrameOptions {
        ec_level,
        module_px: 4,
        ..FrameOptions::default()
    };
    let png = render_png(frame, &opts).expect("render");
    let img = image::load_from_memory(&png).expect("png").to_luma8();
    img.width() / 4 - 8
}

fn frame_counts() {
    let opts = FrameOptions::default();
    println!(
        "## Frames per response (fragment_len {}, EC {}, extra {} %)\n",
        opts.fragment_len, opts.ec_level, opts.extra_frames_percent
    );
    println!(
        "| shares | file bytes | parts | frames emitted | payload bytes/frame | chars/frame | QR modules |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for shares in [3, 5, 7] {
        let payload = synthetic_response(shares, shares as u64);
        let frames = encode_frames(&payload, &opts).expect("encode");
        let parts = frames[0].part().map_or(1, |(_, n)| n);
        let cbor_len = payload.len() + if payload.len() < 256 { 2 } else { 3 };
        let per_frame = cbor_len.div_ceil(parts as usize);
        let chars = frames.iter().map(|f| f.as_str().len()).max().unwrap_or(0);
        println!(
            "| {shares} | {} | {parts} | {} | {per_frame} | {chars} | {} |",
            payload.len(),
            frames.len(),
            modules(&frames[frames.len() - 1], opts.ec_level)
        );
    }
}

/// Steps of a phone/webcam photo, with the camera resolution as the scale step.
fn photo_steps(rng: &mut rand::rngs::StdRng, px_per_module: f32) -> Vec<Step> {
    vec![
        Step::Skew(rng.gen_range(0.02..0.06)),
        Step::Rotate(rng.gen_range(-10.0..10.0)),
        Step::Blur(rng.gen_range(0.15..0.3)),
        Step::Scale(px_per_module),
        Step::Lighting(rng.gen_range(0.6..0.85)),
        Step::Contrast(40, 210),
        Step::Noise(rng.gen_range(5.0..12.0)),
        Step::Jpeg(25),
    ]
}

fn parameter_sweep() {
    println!("\n## Fragment length x EC level at {CAMERA_PX} camera pixels per code side");
    println!("(5-share response; first 10 frames x 3 photo-like degradations each)\n");
    println!(
        "| fragment_len | EC | parts | modules | px/module | frames decoded | parts / decode rate |"
    );
    println!("|---:|:-:|---:|---:|---:|---:|---:|");
    let payload = synthetic_response(5, 5);
    let mut rng = rng(11);
    for fragment_len in [100, 150, 200, 250, 300, 400] {
        for ec_level in [EcLevel::L, EcLevel::M, EcLevel::Q] {
            let opts = FrameOptions {
                fragment_len,
                ec_level,
                ..FrameOptions::default()
            };
            let Ok(frames) = encode_frames(&payload, &opts) else {
                println!("| {fragment_len} | {ec_level} | - | too large | | | |");
                continue;
            };
            let parts = frames[0].part().map_or(1, |(_, n)| n);
            let side = modules(&frames[frames.len() - 1], ec_level) + 8;
            let target = CAMERA_PX / side as f32;
            let module_px = (target.ceil() as u32).max(4);
            let render_opts = FrameOptions { module_px, ..opts };
            let (mut ok, mut total) = (0u32, 0u32);
            for frame in frames.iter().take(10) {
                let img = render(frame, &render_opts);
                for _ in 0..3 {
                    let steps = photo_steps(&mut rng, target);
                    let photo = degrade(&img, module_px as f32, &steps, &mut rng);
                    total += 1;
                    if outcome(&photo.scan().unwrap_or_default(), frame.as_str())
                        == Outcome::Decoded
                    {
                        ok += 1;
                    }
                }
            }
            let rate = f64::from(ok) / f64::from(total);
            let cost = if ok == 0 {
                f64::INFINITY
            } else {
                f64::from(parts) / rate
            };
            println!(
                "| {fragment_len} | {ec_level} | {parts} | {} | {target:.1} | {:.0} % | {cost:.1} |",
                side - 8,
                rate * 100.0
            );
        }
    }
}

fn redundancy_sweep() {
    println!("\n## Extra fountain frames vs. frames watched until complete");
    println!("(5-share response, looping display, each frame missed independently; 200 trials)\n");
    println!("| extra % | frames in loop | miss 10 %: mean | p95 | miss 25 %: mean | p95 |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let payload = synthetic_response(5, 5);
    for extra in [0, 25, 50, 100, 200] {
        let opts = FrameOptions {
            extra_frames_percent: extra,
            ..FrameOptions::default()
        };
        let frames = encode_frames(&payload, &opts).expect("encode");
        let mut cells = Vec::new();
        for miss in [0.10, 0.25] {
            let mut rng = rng(21);
            let mut watched: Vec<usize> = (0..200)
                .map(|_| {
                    let mut collector = FrameCollector::new();
                    let mut count = 0;
                    for frame in frames.iter().cycle() {
                        count += 1;
                        if !rng.gen_bool(miss) {
                            collector.push(frame.as_str()).expect("own frame");
                        }
                        if collector.is_complete() || count > 100 * frames.len() {
                            break;
                        }
                    }
                    count
                })
                .collect();
            watched.sort_unstable();
            let mean = watched.iter().sum::<usize>() as f64 / watched.len() as f64;
            cells.push(format!("{mean:.1} | {}", watched[watched.len() * 95 / 100]));
        }
        println!(
            "| {extra} | {} | {} | {} |",
            frames.len(),
            cells[0],
            cells[1]
        );
    }
}

#[derive(Default)]
struct Tally {
    decoded: usize,
    wrong: usize,
    total: usize,
    time: Duration,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, time: Duration) {
        self.total += 1;
        self.time += time;
        match outcome {
            Outcome::Decoded => self.decoded += 1,
            Outcome::Wrong => self.wrong += 1,
            Outcome::Missed => {}
        }
    }

    fn percent(&self) -> f64 {
        100.0 * self.decoded as f64 / self.total.max(1) as f64
    }
}

fn corpus_table() {
    let opts = FrameOptions {
        module_px: 4,
        ..FrameOptions::default()
    };
    let payload = synthetic_response(5, 5);
    let frames = encode_frames(&payload, &opts).expect("encode");
    println!(
        "\n## Degradation corpus: {} frames of a 5-share response x {} classes, rendered at 4 px/module\n",
        frames.len(),
        CLASSES.len()
    );
    println!(
        "| class | images | rxing decoded | rxing payload | rqrr decoded | rqrr payload | wrong (rxing/rqrr) |"
    );
    println!("|---|---:|---:|:-:|---:|:-:|:-:|");
    let mut rng = rng(42);
    let (mut all_rxing, mut all_rqrr) = (Tally::default(), Tally::default());
    let (mut classes_recovered_rxing, mut classes_recovered_rqrr) = (0, 0);
    for class in &CLASSES {
        let (mut rx, mut rq) = (Tally::default(), Tally::default());
        let (mut rx_collector, mut rq_collector) = (FrameCollector::new(), FrameCollector::new());
        for frame in &frames {
            let steps = class.steps(&mut rng);
            let photo = degrade(&render(frame, &opts), 4.0, &steps, &mut rng);
            let t = Instant::now();
            let rx_texts = photo.scan().unwrap_or_default();
            rx.add(outcome(&rx_texts, frame.as_str()), t.elapsed());
            let gray = photo.to_gray();
            let t = Instant::now();
            let rq_texts = catch_unwind(AssertUnwindSafe(|| scan_rqrr(&gray))).unwrap_or_default();
            rq.add(outcome(&rq_texts, frame.as_str()), t.elapsed());
            for text in &rx_texts {
                let _ = rx_collector.push(text);
            }
            for text in &rq_texts {
                let _ = rq_collector.push(text);
            }
        }
        let rx_ok = rx_collector.finish().is_ok_and(|p| p == payload);
        let rq_ok = rq_collector.finish().is_ok_and(|p| p == payload);
        classes_recovered_rxing += usize::from(rx_ok);
        classes_recovered_rqrr += usize::from(rq_ok);
        println!(
            "| {} | {} | {:.1} % | {} | {:.1} % | {} | {}/{} |",
            class.name,
            rx.total,
            rx.percent(),
            if rx_ok { "yes" } else { "NO" },
            rq.percent(),
            if rq_ok { "yes" } else { "NO" },
            rx.wrong,
            rq.wrong
        );
        for (all, one) in [(&mut all_rxing, rx), (&mut all_rqrr, rq)] {
            all.decoded += one.decoded;
            all.wrong += one.wrong;
            all.total += one.total;
            all.time += one.time;
        }
    }
    println!(
        "| **all** | {} | **{:.1} %** | {}/{} classes | {:.1} % | {}/{} classes | {}/{} |",
        all_rxing.total,
        all_rxing.percent(),
        classes_recovered_rxing,
        CLASSES.len(),
        all_rqrr.percent(),
        classes_recovered_rqrr,
        CLASSES.len(),
        all_rxing.wrong,
        all_rqrr.wrong
    );
    println!(
        "\nmean decode time per image: rxing {:.0} ms, rqrr {:.0} ms",
        all_rxing.time.as_secs_f64() * 1000.0 / all_rxing.total.max(1) as f64,
        all_rqrr.time.as_secs_f64() * 1000.0 / all_rqrr.total.max(1) as f64
    );
    let goals = all_rxing.percent() >= 97.0
        && classes_recovered_rxing == CLASSES.len()
        && all_rxing.wrong == 0;
    println!(
        "goals (>= 97 % frames, payload from every class, zero wrong decodes): {}",
        if goals { "MET" } else { "NOT MET" }
    );
}
