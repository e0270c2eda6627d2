//! keyexport-shared: placeholder.
