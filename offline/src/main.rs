//! Placeholder entry point; replaced by the real CLI.

// The lead wires `sign` into the `keyexport-offline sign` subcommand; once it is used this
// expectation fails the build, so it cannot outlive the wiring.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "wired into the CLI by the lead (issue 8)")
)]
mod sign;

fn main() {}
