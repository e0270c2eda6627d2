//! Reconstruction time: decrypt every share, Berlekamp–Welch decode, verify against the
//! public key. Prints the median of repeated runs for each case.
//!
//! `cargo bench -p keyexport-shared --bench reconstruct`

use std::time::{Duration, Instant};

use keyexport_shared::dealer::Deal;
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::scheme::{Curve, Protocol, Scheme};
use rand::SeedableRng;
use rand::rngs::StdRng;

const RUNS: usize = 21;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2026);
    let key = DecryptionKey::generate_with(&mut rng);
    println!(
        "{:<10} {:>6} {:>6} {:>8} {:>12}",
        "curve", "t", "n", "wrong", "median"
    );
    for curve in [Curve::Secp256k1, Curve::Ed25519, Curve::Stark] {
        for (t, n) in [(2usize, 3usize), (3, 5), (16, 31)] {
            let mut wrongs = vec![0, (n - t) / 2];
            wrongs.dedup();
            for wrong in wrongs {
                let deal = Deal {
                    scheme: Scheme {
                        protocol: Protocol::Cggmp24,
                        curve,
                    },
                    min_signers: t,
                    signers: n,
                    random_indexes: true,
                    wrong_values: (0..wrong).collect(),
                    ..Deal::new(Scheme::all()[0], t, n)
                };
                let dealt = deal.run(&key.encryption_key(), &mut rng);
                let samples = (0..RUNS)
                    .map(|_| {
                        let start = Instant::now();
                        let rebuilt =
                            reconstruct(&dealt.response, &key).expect("dealt export rebuilds");
                        let elapsed = start.elapsed();
                        assert_eq!(
                            rebuilt.private_key.to_be_bytes(),
                            dealt.private_key.to_be_bytes()
                        );
                        assert_eq!(rebuilt.bad_shares.len(), wrong);
                        elapsed
                    })
                    .collect();
                let m = median(samples);
                println!(
                    "{:<10} {t:>6} {n:>6} {wrong:>8} {:>9.3} ms",
                    curve.as_str(),
                    m.as_secs_f64() * 1e3
                );
            }
        }
    }
}
