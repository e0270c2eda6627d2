//! Integration tests of `keyexport-shared`, one module per area.

mod transport;
