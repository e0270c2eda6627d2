//! `keyexport-online`: the online side of the Dfns Export Key ceremony.
//!
//! It talks to Dfns and nothing else, submits the export once, and keeps the encrypted
//! response safe; it never holds a secret that can open a key share. `main` parses,
//! dispatches to one module per subcommand, and maps errors to the exit codes of
//! [`error`].

mod airgap;
mod cli;
mod connect;
mod dfns;
mod error;
mod exit;
mod export;
mod input;
mod interrupt;
mod show;
mod submit;
mod transcript;

use std::process::ExitCode;

use clap::Parser as _;
use keyexport_shared::display::{self, Escaped};

use crate::cli::{Cli, Command};
use crate::error::OnlineError;
use crate::exit::{EXIT_OK, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let (result, json) = match &cli.command {
        Command::Submit(args) => (submit::run(args), args.json),
        Command::Show(args) => (show::run(args), false),
        Command::Version(args) => {
            let info = keyexport_shared::build_info!();
            if args.json {
                println!("{}", info.to_json());
            } else {
                println!("{info}");
            }
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, json);
            error.exit()
        }
    }
}

/// Prints the fault, then the advice, on stderr; with `--json` also one JSON object on
/// stdout.
fn report(error: &OnlineError, json: bool) {
    if let (Some(body), false) = (error.unsaved_body(), json) {
        // Dfns' body, to be copied into a file: printed as received (line breaks
        // included) unless it holds another character a terminal would act on; then it
        // is escaped like every other input.
        if body
            .chars()
            .any(|c| c != '\n' && c != '\t' && display::is_dangerous(c))
        {
            println!("{}", Escaped(body));
        } else {
            println!("{body}");
        }
    }
    // The message can quote what a server or a file sent: shown escaped.
    eprintln!("error: {}", Escaped(error));
    if let Some(advice) = error.advice() {
        eprintln!("  {}", Escaped(advice));
    }
    if json && !error.json_printed() {
        println!("{}", error.to_json().to_line());
    }
}

/// clap's help, version and usage errors: clap prints them; a usage error exits 2, and
/// with `--json` on the command line it is also the one JSON error object on stdout.
fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if !e.use_stderr() {
        return ExitCode::from(EXIT_OK);
    }
    if std::env::args_os().any(|a| a == "--json") {
        let message = keyexport_shared::exit::usage_message(&e.to_string()).to_owned();
        println!("{}", OnlineError::Usage(message).to_json().to_line());
    }
    ExitCode::from(EXIT_USAGE)
}
