//! Command-line interface of `keyexport-online` (clap derive), kept alone so man pages
//! and completions can be generated from it.
//!
//! Secrets are never taken as flags (they would show in the process list and shell
//! history): the auth token and the credential key come from the environment or files.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The production API of Dfns' default region: `--api-url` when neither the flag nor
/// `DFNS_API_URL` is given.
pub const DEFAULT_API_URL: &str = "https://api.dfns.io";
/// Keys exported at once unless `--parallel` says otherwise (docs/batch.md, "Parallel
/// exports": enough to keep 1,000 calls a minute busy when Dfns takes about 2 s a key).
pub const DEFAULT_PARALLEL: u8 = 8;
/// The most `--parallel` accepts: more would only put more keys at risk of being left
/// uncertain by a network failure, without reaching a higher permitted rate.
pub const MAX_PARALLEL: u8 = 32;

/// The main `--help`'s end: an example and the exit codes of [`crate::exit::EXIT_CODES`].
fn main_help() -> String {
    format!(
        "Example:\n  keyexport-online submit --request request.json\n\n{}",
        keyexport_shared::exit::help(&crate::exit::EXIT_CODES)
    )
}

/// Online side of the Dfns Export Key ceremony: submits the export once and keeps the
/// response safe. It never holds anything that can open a key share.
#[derive(Debug, Parser)]
#[command(
    name = "keyexport-online",
    version,
    after_help = main_help()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit the export request to Dfns once and save the encrypted response.
    #[command(after_help = SUBMIT_HELP)]
    Submit(SubmitArgs),
    /// Play a response's QR frames in the terminal for the offline machine's camera.
    #[command(
        after_help = "Example:\n  keyexport-online show ceremony/response.json\n\nRunbook: docs/runbook.md, Step 4 — Carry the response to the offline machine."
    )]
    Show(ShowArgs),
    /// Describe this build: version, git commit, rustc, target, Cargo.lock digest.
    #[command(
        after_help = "Example:\n  keyexport-online version --json\n\nRunbook: docs/runbook.md, P1 — Get and verify the binaries."
    )]
    Version(VersionArgs),
}

/// `version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print one JSON object instead of one line.
    #[arg(long)]
    pub json: bool,
}

const SUBMIT_HELP: &str = "\
Environment (as in Dfns' SDK examples):
  DFNS_API_URL           API base URL (default https://api.dfns.io; plain http only to loopback)
  DFNS_AUTH_TOKEN        service-account or personal access token (never printed)
  DFNS_CRED_ID           id of the credential that signs the export
  DFNS_PRIVATE_KEY       that credential's private key, PEM text (Ed25519, ECDSA P-256,
                         ECDSA secp256k1 or RSA), or DFNS_PRIVATE_KEY_FILE: a PEM file

Example:
  export DFNS_AUTH_TOKEN=... DFNS_CRED_ID=cr-... DFNS_PRIVATE_KEY_FILE=./credential.pem
  keyexport-online submit --request /media/usb/C3M9-T2QW-8XHD-KP4A/request.json

The response is written next to the request (or in --out) as response.json, then as QR
images (response-qr-NN.png, response-qr.gif) and UR text (response.ur.txt).

A batch request (made by `keyexport-offline init` with several key ids) exports every key,
one user action each, paced by --rate, into the folder `responses` next to the request (or
--out): one KEY_ID.response.json per key, saved the moment it arrives, and journal.jsonl.
Run the same command again to resume: saved keys are skipped, failed keys are tried
again, and keys whose export may have been sent without an answer are listed for a manual
check (re-sent only with --retry-uncertain, after Dfns shows them not exported). Carry the
whole folder to the offline machine on removable media (no QR codes for a batch).

A canary request (`keyexport-offline init --canary`) is submitted twice. The first run
checks the real key, creates a throwaway key of its scheme and curve, exports that one
with the request, saves it in OUT/canary/ (response.json and its QR/UR files) and stops:
the real key is untouched. Carry OUT/canary/ to the offline machine; `reconstruct` rebuilds
the canary and writes canary-receipt.json/.png. The second run, with --canary-receipt
RECEIPT and the same --out, checks the receipt, deletes the throwaway key and exports the
real key. A batch gets one canary, on its first key's scheme and curve.

Runbook: docs/runbook.md, Step 3 — Export the key.";

/// `submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The request: the file from `keyexport-offline init`, photos/screenshots of its QR
    /// codes (repeat the flag for several), or a .ur.txt file of its frames.
    #[arg(long = "request", value_name = "INPUT", required = true, num_args = 1..)]
    pub request: Vec<PathBuf>,
    /// Folder for the response and its QR/UR files (default: next to the request); created
    /// if absent.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not ask to type the key id to confirm (for scripts).
    #[arg(long)]
    pub yes: bool,
    /// Print one JSON object with the paths written and the response summary.
    #[arg(long)]
    pub json: bool,
    /// Batch only: Dfns API calls per minute (each key takes 4), or `unlimited`. Dfns
    /// allows 100 a minute on trial organizations and 1000 otherwise; a 429 answer waits
    /// for its Retry-After.
    #[arg(long, value_name = "N", default_value = "100")]
    pub rate: Rate,
    /// Batch only: keys exported at once (1 to 32). They share --rate; one export takes
    /// Dfns a second or more, so one at a time cannot use the permitted rate.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_PARALLEL,
        value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_PARALLEL))
    )]
    pub parallel: u8,
    /// Batch only: export again the keys whose earlier export may have been sent without
    /// an answer, once Dfns shows them as not exported.
    #[arg(long)]
    pub retry_uncertain: bool,
    /// Canary request only: the receipt `keyexport-offline reconstruct` wrote for this
    /// ceremony's canary (canary-receipt.json, or photos of canary-receipt.png). Checked
    /// against OUT/canary/response.json; then the canary key is deleted and the real key
    /// exported.
    #[arg(
        long,
        value_name = "INPUT",
        num_args = 1..,
        conflicts_with = "skip_canary"
    )]
    pub canary_receipt: Vec<PathBuf>,
    /// Canary request only: export the real key WITHOUT the canary's proof (a warning is
    /// shown and recorded in the transcript).
    #[arg(long)]
    pub skip_canary: bool,
    /// Dfns connection settings.
    #[command(flatten)]
    pub dfns: DfnsArgs,
}

/// Connection settings for the Dfns API.
#[derive(Debug, Args)]
pub struct DfnsArgs {
    /// Dfns API base URL.
    #[arg(long, env = "DFNS_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Credential id (the credential that signs the export).
    #[arg(long, env = "DFNS_CRED_ID", value_name = "ID")]
    pub cred_id: Option<String>,
    /// PEM file of the credential's private key (instead of DFNS_PRIVATE_KEY).
    #[arg(long, env = "DFNS_PRIVATE_KEY_FILE", value_name = "PATH")]
    pub private_key_file: Option<PathBuf>,
    /// File holding the auth token (instead of DFNS_AUTH_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub auth_token_file: Option<PathBuf>,
    /// Seconds allowed to connect (DNS, TCP, TLS).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds allowed for one call to send and receive.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Send the API calls through this proxy (http://, https://, socks5://HOST:PORT).
    /// Without it no proxy is used: HTTPS_PROXY, ALL_PROXY and HTTP_PROXY are ignored.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A response.json written by `submit`, or its .ur.txt file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Frames per second (1 to 30).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub fps: u32,
    /// Play the frames this many times (0: until interrupted).
    #[arg(long, default_value_t = 0)]
    pub loops: u32,
}

/// `--rate`: API calls per minute, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// At most this many calls a minute (at least 1).
    PerMinute(u32),
    /// As fast as the server answers (rehearsals, benchmarks).
    Unlimited,
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(text: &str) -> Result<Rate, String> {
        if text.eq_ignore_ascii_case("unlimited") {
            return Ok(Rate::Unlimited);
        }
        match text.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Rate::PerMinute(n)),
            _ => Err(format!(
                "{text:?}: expected calls per minute (1 or more, e.g. 100 or 1000) or `unlimited`"
            )),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::PerMinute(n) => write!(f, "{n} calls/min"),
            Rate::Unlimited => f.write_str("unlimited"),
        }
    }
}

impl Rate {
    /// The time one call occupies.
    pub fn interval(self) -> Duration {
        match self {
            Rate::PerMinute(n) => Duration::from_secs(60) / n,
            Rate::Unlimited => Duration::ZERO,
        }
    }

    /// The least time `calls` calls take at this rate.
    pub fn duration_of(self, calls: u64) -> Duration {
        let calls = u32::try_from(calls).unwrap_or(u32::MAX);
        self.interval().saturating_mul(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rates_parse() {
        assert_eq!("100".parse::<Rate>().unwrap(), Rate::PerMinute(100));
        assert_eq!("Unlimited".parse::<Rate>().unwrap(), Rate::Unlimited);
        assert!("0".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
    }

    #[test]
    fn rates_measure_calls() {
        assert_eq!(
            Rate::PerMinute(1000).duration_of(4000),
            Duration::from_secs(240)
        );
        assert_eq!(Rate::Unlimited.duration_of(4000), Duration::ZERO);
    }

    #[test]
    fn every_subcommand_has_an_example() {
        for sub in Cli::command().get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(help.contains("Example"), "{}", sub.get_name());
        }
    }
}
