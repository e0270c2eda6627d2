//! Placeholder entry point; replaced by the real CLI.
mod sign;

fn main() {}
