//! `keyexport-offline`: the air-gapped side of the Dfns Export Key ceremony.
//!
//! `main` parses the command line, dispatches to one module per subcommand, and turns the
//! outcome into an exit code through [`exit_code`], the only place that does so (the table is
//! in `error.rs` and at the end of `--help`). Errors are printed as the fault, then advice;
//! with `--json` they are printed as the one JSON object on standard output instead.

mod addresses;
mod airgap;
mod batch;
mod cli;
mod custody;
mod destroy;
mod error;
mod exit;
mod hd;
mod init;
mod inputs;
mod inspect;
mod interrupt;
mod memory;
mod output;
mod passphrase;
mod qr;
mod rebuild;
mod reconstruct;
mod render;
mod seal;
mod show;
mod sign;
mod signature;
mod transcript;
mod transcript_cmd;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, CustodyCommand, TranscriptCommand};
use crate::error::{CliError, CliResult};
use crate::exit::{EXIT_OK, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap renders help, version and usage errors itself; only the code is ours,
            // and with --json the usage error is also the one JSON object on stdout.
            let _ = e.print();
            if !e.use_stderr() {
                return ExitCode::from(EXIT_OK);
            }
            if std::env::args_os().any(|a| a == "--json") {
                let message = keyexport_shared::exit::usage_message(&e.to_string()).to_owned();
                println!(
                    "{}",
                    render::error_json(&CliError::Usage(error::UsageError::Parse(message)), false)
                );
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    interrupt::install();
    let json = match &cli.command {
        Command::Reconstruct(args) => args.json,
        Command::Inspect(args) => args.json,
        Command::Transcript(TranscriptCommand::Verify(args)) => args.json,
        Command::Sign(args) => args.json,
        Command::Init(_) | Command::Custody(_) | Command::Show(_) | Command::Version(_) => false,
    };
    // Commands that handle a secret: no core dumps, no swapping where allowed.
    if matches!(
        cli.command,
        Command::Init(_) | Command::Reconstruct(_) | Command::Custody(_) | Command::Sign(_)
    ) {
        memory::protect();
    }
    let inspecting = matches!(cli.command, Command::Inspect(_));
    let result = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Reconstruct(args) => reconstruct::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Custody(CustodyCommand::Verify(args)) => custody::verify::run(&args),
        Command::Transcript(TranscriptCommand::Verify(args)) => transcript_cmd::run(&args),
        Command::Sign(args) => sign::command::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Version(args) => {
            print_version(args.json);
            Ok(())
        }
    };
    passphrase::restore_terminal();
    exit_code(result, json, inspecting)
}

/// `version`: this build, as one line or one JSON object.
fn print_version(json: bool) {
    let info = keyexport_shared::build_info!();
    if json {
        println!("{}", info.to_json());
    } else {
        println!("{info}");
    }
}

/// Reports a failure (text on stderr, or the `--json` error object on stdout) and maps the
/// outcome to the documented exit code.
fn exit_code(result: CliResult<()>, json: bool, inspecting: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            if json && !error.json_already_printed() {
                println!("{}", render::error_json(&error, inspecting));
            }
            render::error_text(&error, inspecting);
            error.to_exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_never_exit_zero() {
        let code = exit_code(Err(CliError::PassphraseMismatch), false, false);
        assert_ne!(code, ExitCode::from(EXIT_OK));
        assert_eq!(exit_code(Ok(()), false, false), ExitCode::from(EXIT_OK));
    }
}
