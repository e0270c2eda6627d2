//! `dfns-sandbox rehearse`: a whole ceremony, end to end, against a sandbox over real
//! HTTP, in a temporary folder, narrated step by step as the runbook describes it.
//!
//! offline `init` → the request crosses as QR images (decoded, not the file) → online
//! `submit` → the response crosses as QR images → offline `reconstruct` → the rebuilt
//! key is compared with the sandbox's. Any difference or failure exits non-zero.
//!
//! By default the ceremony runs twice: for an ordinary key, then for an HD master key of
//! the same scheme (chain code in every share, wallets listed by the key object), whose
//! wallets `reconstruct` derives and checks offline.
//!
//! With `--policy-hold` the rehearsal shows what a policy that holds the export looks
//! like: `submit` must stop with its documented exit code for a hold (9), save Dfns'
//! answer, and leave the key unexported. That outcome is the rehearsal passing: it is
//! narrated as such and the command exits 0; anything else (an export, another failure)
//! fails it.
//!
//! The two ceremony binaries are built (when run through Cargo) and found by
//! [`sandbox::binaries::ensure_built`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use clap::Args;
use keyexport_shared::scheme::Scheme;
use rand_core::{OsRng, RngCore as _};
use sandbox::binaries::Build;
use sandbox::{KeySpec, KeySummary, Sandbox};

use crate::SandboxArgs;

/// `rehearse`.
#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Scheme of the rehearsal key (PROTOCOL:CURVE); any pair, also one Dfns does not
    /// issue (the request then names it with --scheme).
    #[arg(long, default_value = "CGGMP24:secp256k1")]
    scheme: Scheme,
    /// Keep the ceremony folder afterwards (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Rehearse the ordinary key only (by default an HD master key of the same scheme
    /// follows, and its wallets are checked offline).
    #[arg(long)]
    no_hd: bool,
    /// Use the ceremony binaries found next to this one as they are; ask Cargo to build
    /// them only if missing (the tests use this after `cargo test` built them).
    #[arg(long)]
    no_build: bool,
    /// The sandbox: keys and faults to rehearse with (the first key is used, then the first
    /// HD master key unless --no-hd).
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Prints a step header the way the runbook numbers its steps.
fn step(number: u32, title: &str) {
    println!("\n── Step {number}/6 · {title}");
}

/// Shows a child's command line and its output, indented.
fn show(program: &Path, args: &[OsString], output: &Output) {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("   $ {name} {}", args.join(" "));
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("   │ {line}");
    }
}

/// `keyexport-online submit`'s exit code for an export held by a policy (HTTP 202), as
/// the README's exit code table documents it.
const EXIT_HELD: i32 = 9;

/// `submit`'s file holding Dfns' answer to a held export.
const HELD_FILE: &str = "export-held.json";

/// How one key's rehearsal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The key was exported, rebuilt offline and equals the sandbox's.
    Rebuilt,
    /// The export was held by the policy, as `--policy-hold` asked.
    Held,
}

/// Runs a ceremony binary and shows what it printed; fails if it fails.
fn run_tool(program: &Path, args: &[OsString], env: &[(&str, String)]) -> anyhow::Result<Output> {
    let output = run_shown(program, args, env)?;
    ensure!(
        output.status.success(),
        "{} failed ({})",
        program.display(),
        output.status
    );
    Ok(output)
}

/// Runs a ceremony binary and shows what it printed, whatever its exit status.
fn run_shown(program: &Path, args: &[OsString], env: &[(&str, String)]) -> anyhow::Result<Output> {
    let mut command = Command::new(program);
    command.args(args);
    for name in [
        "DFNS_API_URL",
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "DFNS_PRIVATE_KEY_FILE",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    show(program, args, &output);
    Ok(output)
}

fn pngs_in(dir: &Path, prefix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".png"))
        })
        .collect();
    found.sort();
    ensure!(!found.is_empty(), "no {prefix}*.png in {}", dir.display());
    Ok(found)
}

/// Copies images into `to`, as a camera would bring them to the other machine.
fn carry(images: &[PathBuf], to: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(to)?;
    images
        .iter()
        .map(|image| {
            let name = image
                .file_name()
                .ok_or_else(|| anyhow::anyhow!("{} has no file name", image.display()))?;
            let copy = to.join(name);
            std::fs::copy(image, &copy)?;
            Ok(copy)
        })
        .collect()
}

fn arg(text: impl Into<OsString>) -> OsString {
    text.into()
}

/// Runs the rehearsal.
pub fn run(args: &RehearseArgs) -> anyhow::Result<()> {
    println!("Rehearsal of the Dfns Export Key ceremony against a local sandbox.");
    let when = if args.no_build {
        Build::IfMissing
    } else {
        Build::Always
    };
    let binaries =
        sandbox::binaries::ensure_built(&["keyexport-offline", "keyexport-online"], when)?;
    let (offline, online) = (&binaries[0], &binaries[1]);
    let mut default_keys = vec![KeySpec::new(args.scheme)];
    if !args.no_hd {
        default_keys.push(KeySpec {
            master_key: true,
            ..KeySpec::new(args.scheme)
        });
    }
    let config = args.sandbox.config(default_keys)?;
    let expect_hold = config.has(&sandbox::Fault::PolicyHold);
    if expect_hold {
        println!("--policy-hold: a Dfns policy will hold every export for approval. The");
        println!("rehearsal shows what the operator then sees, and passes when");
        println!("keyexport-online stops there as documented.");
    }
    let sandbox = Sandbox::start(config)?;
    let keys = sandbox.keys();
    let first = keys
        .first()
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no key"))?;
    let mut chosen = vec![first];
    if !args.no_hd
        && let Some(master) = keys.iter().find(|k| k.master_key && k.id != first.id)
    {
        chosen.push(master);
    }
    for (n, key) in chosen.iter().enumerate() {
        println!(
            "\n══ Key {} of {}: {} ({}, {}-of-{}{}) at {}",
            n + 1,
            chosen.len(),
            key.id,
            key.scheme,
            key.min_signers,
            key.signers,
            if key.master_key {
                ", HD master key"
            } else {
                ""
            },
            sandbox.url(),
        );
        let ending = rehearse_key(&sandbox, key, offline, online, args.keep, expect_hold)?;
        ensure!(
            (ending == Ending::Held) == expect_hold,
            "the rehearsal of {} ended unexpectedly",
            key.id
        );
    }
    if expect_hold {
        println!("\nEvery export was held by the policy, as --policy-hold set out to show:");
        println!("nothing was exported, and keyexport-online kept Dfns' answer and stopped");
        println!("with exit code {EXIT_HELD}. The rehearsal passed.");
    } else {
        println!("\nEvery key rehearsed: the rehearsal passed.");
    }
    Ok(())
}

/// One whole ceremony for `key`; with `expect_hold`, up to the held export.
fn rehearse_key(
    sandbox: &Sandbox,
    key: &KeySummary,
    offline: &Path,
    online: &Path,
    keep: bool,
    expect_hold: bool,
) -> anyhow::Result<Ending> {
    let workspace = tempfile::Builder::new()
        .prefix("keyexport-rehearsal-")
        .tempdir()?;
    let root = workspace.path();
    let offline_dir = root.join("offline-machine");
    let online_dir = root.join("online-machine");
    std::fs::create_dir_all(&online_dir)?;
    let passphrase = root.join("passphrase.txt");
    let mut secret = [0u8; 24];
    OsRng.fill_bytes(&mut secret);
    std::fs::write(
        &passphrase,
        base64::engine::general_purpose::STANDARD.encode(secret),
    )?;

    step(
        1,
        "Offline machine: create the decryption key and the export request",
    );
    let ceremony = offline_dir.join("ceremony");
    let mut init = vec![
        arg("init"),
        arg("--key-id"),
        arg(&key.id),
        arg("--out"),
        arg(&ceremony),
        arg("--passphrase-file"),
        arg(&passphrase),
        arg("--allow-online"),
    ];
    // The request offers the pairs Dfns issues unless told otherwise; a rehearsal of
    // another pair asks for it, as an operator would.
    if !Scheme::ISSUED.contains(&key.scheme) {
        println!(
            "   {} is not a pair Dfns issues: the request names it with --scheme.",
            key.scheme
        );
        init.extend([arg("--scheme"), arg(key.scheme.to_string())]);
    }
    run_tool(offline, &init, &[])?;

    step(2, "Carry the request across the air gap as QR codes");
    let request_images = carry(&pngs_in(&ceremony, "request")?, &online_dir.join("scanned"))?;
    println!(
        "   The online machine photographs {} QR image(s); the request file itself stays behind.",
        request_images.len()
    );

    step(
        3,
        "Online machine: check the key, export once, save the response",
    );
    let response_dir = online_dir.join("ceremony");
    std::fs::create_dir_all(&response_dir)?;
    let mut submit = vec![arg("submit")];
    for image in &request_images {
        submit.push(arg("--request"));
        submit.push(arg(image));
    }
    submit.extend([
        arg("--out"),
        arg(&response_dir),
        arg("--yes"),
        arg("--json"),
    ]);
    if expect_hold {
        let output = run_shown(online, &submit, &sandbox.env())?;
        narrate_hold(sandbox, key, &output, &response_dir)?;
        if keep {
            let kept = workspace.keep();
            println!("   Ceremony folder kept: {}", kept.display());
        }
        return Ok(Ending::Held);
    }
    let output = run_tool(online, &submit, &sandbox.env())?;
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("keyexport-online did not print one JSON object")?;
    println!(
        "   Response saved in {}",
        summary["response"].as_str().unwrap_or("?")
    );

    step(4, "Carry the response back across the air gap as QR codes");
    let response_images = carry(
        &pngs_in(&response_dir, "response-qr")?,
        &offline_dir.join("scanned"),
    )?;
    println!(
        "   The offline machine photographs {} QR frame(s).",
        response_images.len()
    );

    step(
        5,
        "Offline machine: decrypt the shares, rebuild and verify the key",
    );
    let mut reconstruct = vec![
        arg("reconstruct"),
        arg("--decryption-key"),
        arg(ceremony.join("decryption-key.age")),
        arg("--passphrase-file"),
        arg(&passphrase),
        arg("--json"),
        arg("--reveal"),
        arg("--allow-online"),
        arg("--response"),
    ];
    reconstruct.extend(response_images.iter().map(arg));
    let output = run_tool(offline, &reconstruct, &[])?;
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("keyexport-offline did not print one JSON object")?;

    step(6, "Compare the rebuilt key with the sandbox's");
    let rebuilt = result["privateKey"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the reconstruct output has no privateKey"))?;
    let expected = sandbox
        .private_key_hex(&key.id)
        .ok_or_else(|| anyhow::anyhow!("the sandbox forgot key {}", key.id))?;
    if rebuilt.eq_ignore_ascii_case(expected.as_str()) {
        println!("   The rebuilt key equals the key the sandbox split.");
    } else {
        bail!("the rebuilt key differs from the sandbox's key");
    }
    if key.master_key {
        ensure!(
            result["hd"] == serde_json::Value::Bool(true),
            "the HD master key was rebuilt without its chain code"
        );
        let wallets = &result["wallets"];
        let verified = wallets["verified"].as_u64().unwrap_or(0);
        ensure!(
            verified > 0,
            "no wallet of the HD master key was verified offline: {wallets}"
        );
        println!(
            "   Wallets checked offline: {verified} verified, {} not checkable (no derivation path in the key object).",
            wallets["notCheckable"].as_u64().unwrap_or(0)
        );
    }
    println!("   The rehearsal of {} passed.", key.id);
    if keep {
        let kept = workspace.keep();
        println!("   Ceremony folder kept: {}", kept.display());
    }
    Ok(Ending::Rebuilt)
}

/// Checks that `submit` stopped at the policy hold as documented, and says so: exit code
/// 9, Dfns' answer saved, the key not exported.
fn narrate_hold(
    sandbox: &Sandbox,
    key: &KeySummary,
    output: &Output,
    response_dir: &Path,
) -> anyhow::Result<()> {
    ensure!(
        output.status.code() == Some(EXIT_HELD),
        "--policy-hold: keyexport-online should have stopped at the hold with exit code \
         {EXIT_HELD}, but it ended with {}",
        output.status
    );
    let held = response_dir.join(HELD_FILE);
    ensure!(
        held.is_file(),
        "--policy-hold: keyexport-online did not save Dfns' answer in {}",
        held.display()
    );
    let exported = sandbox.keys().iter().any(|k| k.id == key.id && k.exported);
    ensure!(!exported, "--policy-hold: the sandbox exported {}", key.id);
    println!("   As expected: Dfns answered HTTP 202, a policy holds the export for");
    println!("   approval. Nothing was exported; the sandbox's key is still unexported:");
    println!("     {}", key.id);
    println!("   keyexport-online saved Dfns' answer in {HELD_FILE} and stopped");
    println!("   with exit code {EXIT_HELD}, as documented for a hold.");
    println!("   On a real ceremony: have the pending approval rejected (or the export");
    println!("   exempted or approved beforehand, as your policy allows), then run");
    println!("   `submit` again. Steps 4 to 6 do not apply: no response to carry back.");
    Ok(())
}
