//! keyexport-shared: placeholder.
pub mod transport;
