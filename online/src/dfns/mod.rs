//! The Dfns API client, kept in the online binary: the offline binary must not link it.
//!
//! - [`client`]: base-URL policy, HTTP agent, timeouts, retries;
//! - [`auth`]: user-action signing (`dfns-auth.md`);
//! - [`credential`]: the signing credential's private key, from PEM;
//! - [`keys`]: `GET /keys/{keyId}` and `POST /keys/{keyId}/export`;
//! - [`canary`]: `POST /keys` and `DELETE /keys/{keyId}` for the canary's throwaway key;
//! - [`errors`]: classification of every failure.

pub mod auth;
pub mod canary;
pub mod client;
pub mod credential;
pub mod errors;
pub mod keys;
