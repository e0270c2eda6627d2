//! `dfns-sandbox`: a Dfns-compatible API on loopback for rehearsals and tests, and the
//! `rehearse` command that runs a whole ceremony against it.
//!
//! `main` parses, dispatches and maps failures to exit codes: 0 success, 1 the sandbox
//! could not start or the rehearsal failed, 2 usage.

mod rehearse;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use sandbox::{
    CredentialKind, FailStatus, Fault, KeySpec, KeysFile, Route, Sandbox, SandboxConfig,
};

/// A Dfns-compatible API on 127.0.0.1 for rehearsals and tests: real credential
/// signatures, real encrypted shares, one export per key, and named faults.
#[derive(Debug, Parser)]
#[command(
    name = "dfns-sandbox",
    version,
    after_help = "Examples:\n  dfns-sandbox serve --tamper-share\n  \
                  cargo run --release -p sandbox -- rehearse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API until interrupted, printing its URL and test credentials.
    #[command(
        after_help = "Example:\n  dfns-sandbox serve --port 8080 --fail-once 500:get-key\n\nRunbook: docs/runbook.md, P4 — Rehearse against the sandbox."
    )]
    Serve(ServeArgs),
    /// Run a whole ceremony end to end against a sandbox, narrating each step.
    #[command(
        after_help = "Example:\n  cargo run --release -p sandbox -- rehearse --scheme FROST:ed25519\n\nRunbook: docs/runbook.md, P4 — Rehearse against the sandbox."
    )]
    Rehearse(rehearse::RehearseArgs),
}

/// Keys, credential and faults of a sandbox.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// JSON file of keys: {"keys": [{"scheme": "CGGMP24:secp256k1", "minSigners": 2,
    /// "signers": 3, "id": "...", "name": "...", "exported": false, "masterKey": false}]};
    /// any PROTOCOL:CURVE pair ("masterKey": true: an HD master key, a chain code in every
    /// share). Default: one 2-of-3 key per pair Dfns issues (9).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Type of the test user's credential.
    #[arg(long, value_enum, default_value_t = CredentialKind::Ed25519)]
    credential: CredentialKind,
    /// Answer the first request on ROUTE with STATUS (500, or 429 with Retry-After: 1).
    #[arg(long, value_name = "STATUS:ROUTE", value_parser = parse_fail_once)]
    fail_once: Vec<Fault>,
    /// Answer requests on ROUTE only after DURATION (processed first), e.g. export:5s.
    #[arg(long, value_name = "ROUTE:DURATION", value_parser = parse_delay)]
    delay: Vec<Fault>,
    /// Flip a byte of the first share's ciphertext.
    #[arg(long)]
    tamper_share: bool,
    /// Leave the last share out of the response.
    #[arg(long)]
    drop_share: bool,
    /// Put an unrelated key's public key in the response.
    #[arg(long)]
    wrong_public_key: bool,
    /// Add N signers whose shares hold wrong values.
    #[arg(long, value_name = "N")]
    extra_signers: Option<usize>,
    /// Give the first signer's share another chain code than the key's (or one, for a
    /// key without chain code).
    #[arg(long)]
    other_chain_code: bool,
    /// Write the share document Dfns used before HD keys (no "chain_code" field)
    /// instead of the current one ("chain_code": null, or the HD key's chain code).
    #[arg(long)]
    legacy_shares: bool,
    /// Hold every export for approval (HTTP 202).
    #[arg(long)]
    policy_hold: bool,
    /// The test user lacks Keys:Export (HTTP 403).
    #[arg(long)]
    no_export_permission: bool,
    /// Export Key is not enabled for the organization (HTTP 402).
    #[arg(long)]
    export_disabled: bool,
    /// The test user lacks Keys:Create: creating a key (the canary) is refused (HTTP 403).
    #[arg(long)]
    no_create_permission: bool,
    /// Hold every key creation (the canary) for approval (HTTP 202).
    #[arg(long)]
    create_held: bool,
    /// Hold every key deletion (the canary's, after its receipt) for approval (HTTP 202).
    #[arg(long)]
    delete_held: bool,
    /// Give the export of a created key (the canary) share documents this tool cannot
    /// read: the canary fails offline, the configured keys' exports are unaffected.
    #[arg(long)]
    canary_share_format: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

fn route_name(text: &str) -> Result<Route, String> {
    <Route as clap::ValueEnum>::from_str(text, true).map_err(|_| {
        format!(
            "unknown route {text:?} (get-key, action-init, action, export, create-key, delete-key)"
        )
    })
}

fn parse_fail_once(text: &str) -> Result<Fault, String> {
    let (status, route) = text.split_once(':').unwrap_or((text, "get-key"));
    let status = match status {
        "500" => FailStatus::Internal,
        "429" => FailStatus::RateLimited,
        other => return Err(format!("status {other:?}: use 500 or 429")),
    };
    Ok(Fault::FailOnce {
        status,
        route: route_name(route)?,
    })
}

fn parse_delay(text: &str) -> Result<Fault, String> {
    let (route, delay) = text
        .split_once(':')
        .ok_or_else(|| "expected ROUTE:DURATION, e.g. export:5s".to_owned())?;
    let delay: Duration = humantime::parse_duration(delay).map_err(|e| e.to_string())?;
    Ok(Fault::Delay {
        route: route_name(route)?,
        delay,
    })
}

impl SandboxArgs {
    /// The sandbox configuration these flags describe.
    pub fn config(&self, default_keys: Vec<KeySpec>) -> anyhow::Result<SandboxConfig> {
        let keys = match &self.keys {
            Some(path) => KeysFile::read(path)?,
            None => default_keys,
        };
        let mut faults: Vec<Fault> = self.fail_once.iter().chain(&self.delay).cloned().collect();
        let flags = [
            (self.tamper_share, Fault::TamperShare),
            (self.drop_share, Fault::DropShare),
            (self.wrong_public_key, Fault::WrongPublicKey),
            (self.policy_hold, Fault::PolicyHold),
            (self.no_export_permission, Fault::MissingExportPermission),
            (self.export_disabled, Fault::ExportNotEnabled),
            (self.other_chain_code, Fault::OtherChainCode),
            (self.legacy_shares, Fault::LegacyShares),
            (self.no_create_permission, Fault::MissingCreatePermission),
            (self.create_held, Fault::CreateKeyHeld),
            (self.delete_held, Fault::DeleteKeyHeld),
            (self.canary_share_format, Fault::CanaryShareFormat),
        ];
        faults.extend(flags.into_iter().filter(|(on, _)| *on).map(|(_, f)| f));
        if let Some(n) = self.extra_signers {
            faults.push(Fault::ExtraSigners(n));
        }
        Ok(SandboxConfig {
            keys,
            credential: self.credential,
            faults,
            port: 0,
        })
    }
}

fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let mut config = args.sandbox.config(Vec::new())?;
    config.port = args.port;
    let sandbox = Sandbox::start(config)?;
    println!(
        "Dfns sandbox listening on {} (loopback only)",
        sandbox.url()
    );
    println!("\nTest credentials for keyexport-online or a Dfns SDK script (bash):");
    for (name, value) in sandbox.env() {
        println!("export {name}='{value}'");
    }
    println!(
        "# an expired token, for trying the 401 path: {}",
        sandbox.expired_token()
    );
    println!("\nKeys:");
    for key in sandbox.keys() {
        println!(
            "  {}  {}  {}-of-{}  publicKey {}",
            key.id, key.scheme, key.min_signers, key.signers, key.public_key
        );
    }
    println!("\nReady: {} keys. Ctrl-C to stop.", sandbox.keys().len());
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve(args) => serve(args),
        Command::Rehearse(args) => rehearse::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
