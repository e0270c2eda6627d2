//! Integration tests of keyexport-shared, one module per area: the Dfns vectors,
//! property tests of the whole decrypt-and-rebuild path, and the QR/UR transport.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod hd;
mod reconstruction;
mod transport;
mod vectors;
