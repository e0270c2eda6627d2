//! Batch ceremonies: one decryption key and one request for many Dfns keys.
//!
//! - [`init`]: the key id list of `init --key-id … --key-ids-file FILE`;
//! - [`inspect`]: `inspect` of a batch request and of a responses folder.
//!
//! `reconstruct` of a batch is `crate::reconstruct`'s (one key per response file,
//! continuing past keys that fail, with a manifest).
//!
//! The formats are in `keyexport_shared::files::batch`; a single key keeps the single-key files.

pub mod init;
pub mod inspect;
