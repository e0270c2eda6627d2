//! Integration tests of the `dfns-sandbox` binary: `serve` prints working test
//! credentials, and `rehearse` runs a whole ceremony with the real ceremony binaries
//! (built on demand by `sandbox::binaries`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod canary_receipt;
mod docs;
mod keys;
mod layering;
mod rehearse;
mod serve;
mod statuses;
