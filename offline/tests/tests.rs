//! Integration tests of `keyexport-offline`: every command and flag through the real binary.

mod airgap;
mod bad_inputs;
mod common;
mod help;
mod init;
mod interop;
mod reconstruct;
mod vectors;
