//! End-to-end tests of `keyexport-online` against the sandbox over real loopback HTTP.
//!
//! Each test starts a `sandbox::Sandbox` in-process on a free port, writes a request
//! file with `keyexport-shared` (as `keyexport-offline init` would), runs the real
//! binary, and checks both what it printed and what the sandbox saw. Responses are
//! decrypted in-process with the request's decryption key and compared with the key the
//! sandbox split. The full ceremony with the offline binary is `sandbox`'s rehearsal
//! test.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod auth;
mod batch;
mod canary;
mod common;
mod errors;
mod faults;
#[path = "../../offline/tests/screen.rs"]
mod screen;
mod submit;
mod transcript;
