//! Placeholder entry point; replaced by the real CLI.
fn main() {}
