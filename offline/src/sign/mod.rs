//! `keyexport-offline sign`: the command (`command`), its key file and message inputs, and
//! the transactions shown and confirmed before signing (`tx`). The signature schemes are
//! [`crate::signature`].

pub mod command;
mod keyfile;
mod message;
pub mod tx;
