//! Batch ceremonies: one decryption key and one request for many Dfns keys.
//!
//! - [`init`]: the key id list of `init --key-id … --key-ids-file FILE`;
//! - [`inspect`]: `inspect` of a batch request and of a responses folder;
//! - [`reconstruct`]: `reconstruct` over a folder of response files, one key per file,
//!   continuing past keys that fail, with a manifest.
//!
//! The formats are in `keyexport_shared::batch`; a single key keeps the single-key files.

pub mod init;
pub mod inspect;
pub mod reconstruct;
