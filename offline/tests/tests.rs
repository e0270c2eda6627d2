//! Integration tests of `keyexport-offline`: every command and flag through the real binary.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod airgap;
mod bad_inputs;
mod batch;
mod canary;
mod ceremony;
mod common;
mod custody;
mod errors;
mod hd;
mod help;
mod hostile;
mod hostile_files;
mod init;
mod inspect;
mod interop;
mod qr_inputs;
mod reconstruct;
mod screen;
mod sign;
mod sign_tx;
mod snapshots;
mod terminal;
mod transcript;
mod vectors;
