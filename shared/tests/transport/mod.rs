//! Integration tests of the air-gap transport (`keyexport_shared::transport`).

pub mod corpus;
mod robustness;
