//! # keyexport-shared
//!
//! Everything both sides of a Dfns *Export Key* ceremony agree on:
//!
//! - [`scheme`]: the protocol and curve names Dfns uses;
//! - [`wire`]: the Dfns request and response bodies (spec §1);
//! - [`keys`]: the ceremony encryption/decryption key pair and its fingerprint (spec §2);
//! - [`ecies`]: encryption and decryption of one key share (spec §3);
//! - [`share`]: the decrypted share document (spec §4);
//! - [`chain_code`]: the chain code an HD key's shares carry (spec §4a);
//! - [`curve`]: scalar fields and public keys of secp256k1, ed25519 and stark;
//! - [`hd`]: the HD tree of a key exported with a chain code (BIP-32 and Dfns' schemes);
//! - [`key_object`]: the key object's HD facts (`masterKey`, `derivedFrom`, `wallets`) and the wallet check;
//! - [`reconstruct`]: robust reconstruction and verification of the key (spec §5);
//! - [`custody`]: quorum custody of the decryption key (Shamir split, Feldman commitments);
//! - [`dealer`]: a trusted dealer producing real exports, for the sandbox and tests;
//! - [`files`]: the request and response files that cross the air gap, [`files::batch`] (the
//!   batch request: many keys, one decryption key, and its key id lists), and
//!   [`files::Artifact`], what any of them is;
//! - [`canary`]: the canary ceremony's receipt (signed by the rebuilt throwaway key);
//! - [`fsio`]: atomic, non-clobbering file writes;
//! - [`transcript`]: the hash-chained ceremony transcript;
//! - [`transport`]: UR frames in QR codes for crossing the air gap;
//! - [`display`]: escaping of input text before it is shown on a terminal;
//! - [`input`]: reading input files (regular files only, size limits);
//! - [`json`]: strict JSON reading (no duplicate keys) for every input document.
//!
//! The spec sections cited in this crate refer to `docs/formats.md` and the Dfns
//! export reference it summarises. The library never prints: it returns values and
//! errors, and the binaries render them.
#![deny(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod build_info;
pub mod canary;
pub mod chain_code;
pub mod curve;
pub mod custody;
pub mod dealer;
pub mod display;
pub mod ecies;
mod error;
pub mod exit;
pub mod files;
pub mod fsio;
pub mod hd;
pub mod input;
pub mod json;
pub mod key_object;
pub mod keys;
pub mod reconstruct;
pub mod scheme;
pub mod share;
pub mod transcript;
pub mod transport;
pub mod wire;

pub use error::{ChainCodeGroup, Error, ErrorKind, Result};
