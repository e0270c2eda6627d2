//! Integration tests of keyexport-shared: the Dfns vectors and property tests of the
//! whole decrypt-and-rebuild path.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod reconstruction;
mod vectors;
