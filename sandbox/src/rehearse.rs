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
//! By default each ceremony is a canary ceremony, the runbook's default path: `init
//! --canary`, then `submit` exports a throwaway key instead of the real one and stops; its
//! response crosses as QR images; `reconstruct` rebuilds it and writes the canary receipt;
//! the receipt's QR image crosses back; `submit --canary-receipt` checks it, deletes the
//! throwaway key and exports the real key. `--no-canary` rehearses the short ceremony.
//! With `--canary-share-format` the canary's export carries shares this tool cannot read:
//! the rehearsal passes when the ceremony stops offline, no receipt is written and the
//! sandbox saw no export of the real key.
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
    /// Rehearse the short ceremony, without the canary (by default a throwaway key is
    /// exported and rebuilt first, and its receipt carried back, before the real key).
    #[arg(long)]
    no_canary: bool,
    /// Use the ceremony binaries found next to this one as they are; ask Cargo to build
    /// them only if missing (the tests use this after `cargo test` built them).
    #[arg(long)]
    no_build: bool,
    /// The sandbox: keys and faults to rehearse with (the first key is used, then the first
    /// HD master key unless --no-hd).
    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// Prints a step header the way the runbook numbers its steps (`2a` is the canary's).
fn step(number: &str, title: &str) {
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

/// The folder, in `submit --out`, of the canary's response and files.
const CANARY_FOLDER: &str = keyexport_shared::canary::CANARY_RESPONSE_FOLDER;

/// How one key's rehearsal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The key was exported, rebuilt offline and equals the sandbox's.
    Rebuilt,
    /// The export was held by the policy, as `--policy-hold` asked.
    Held,
    /// The canary failed offline, as `--canary-share-format` asked: the real key untouched.
    CanaryFailed,
}

/// What one key's rehearsal is expected to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// A canary ceremony (not `--no-canary`).
    canary: bool,
    /// The export (the canary's first, in a canary ceremony) is held.
    hold: bool,
    /// The canary fails offline.
    canary_fails: bool,
    /// Keep the folder.
    keep: bool,
}

impl Plan {
    fn ending(self) -> Ending {
        if self.hold {
            Ending::Held
        } else if self.canary && self.canary_fails {
            Ending::CanaryFailed
        } else {
            Ending::Rebuilt
        }
    }
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
    let plan = Plan {
        canary: !args.no_canary,
        hold: expect_hold,
        canary_fails: config.has(&sandbox::Fault::CanaryShareFormat),
        keep: args.keep,
    };
    if plan.canary {
        println!("A canary ceremony (the runbook's default; --no-canary for the short one):");
        println!("a throwaway key is exported and rebuilt offline first, and its receipt");
        println!("carried back, before the real key is touched.");
    }
    if plan.ending() == Ending::CanaryFailed {
        println!("--canary-share-format: the canary's export will carry shares this tool");
        println!("cannot read. The rehearsal passes when the ceremony stops offline and the");
        println!("real key is never exported.");
    }
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
        // Dfns creates keys of the pairs it issues only: another pair has no canary.
        let key_plan = Plan {
            canary: plan.canary && Scheme::ISSUED.contains(&key.scheme),
            ..plan
        };
        if plan.canary && !key_plan.canary {
            println!(
                "   {} is not a pair Dfns issues: no canary key can be created of it, so this",
                key.scheme
            );
            println!("   ceremony goes without the canary.");
        }
        let ending = rehearse_key(&sandbox, key, offline, online, key_plan)?;
        ensure!(
            ending == key_plan.ending(),
            "the rehearsal of {} ended unexpectedly",
            key.id
        );
    }
    if plan.ending() == Ending::CanaryFailed {
        println!("\nEvery canary failed offline and every ceremony stopped there, as");
        println!("--canary-share-format set out to show: no real key was exported.");
        println!("The rehearsal passed.");
    } else if expect_hold {
        println!("\nEvery export was held by the policy, as --policy-hold set out to show:");
        println!("nothing was exported, and keyexport-online kept Dfns' answer and stopped");
        println!("with exit code {EXIT_HELD}. The rehearsal passed.");
    } else {
        println!("\nEvery key rehearsed: the rehearsal passed.");
    }
    Ok(())
}

/// One whole ceremony for `key`; with a hold, up to the held export; with a canary that
/// fails offline, up to that failure.
fn rehearse_key(
    sandbox: &Sandbox,
    key: &KeySummary,
    offline: &Path,
    online: &Path,
    plan: Plan,
) -> anyhow::Result<Ending> {
    let keep = plan.keep;
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
        "1",
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
    if plan.canary {
        init.push(arg("--canary"));
    }
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

    step("2", "Carry the request across the air gap as QR codes");
    let request_images = carry(&pngs_in(&ceremony, "request")?, &online_dir.join("scanned"))?;
    println!(
        "   The online machine photographs {} QR image(s); the request file itself stays behind.",
        request_images.len()
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
    let mut ending = None;
    if plan.canary {
        let paths = CanaryPaths {
            ceremony: &ceremony,
            passphrase: &passphrase,
            response_dir: &response_dir,
            offline_dir: &offline_dir,
            online_dir: &online_dir,
        };
        match rehearse_canary(sandbox, key, offline, online, &submit, &paths, plan)? {
            Some(receipt_images) => {
                submit.push(arg("--canary-receipt"));
                submit.extend(receipt_images.iter().map(arg));
            }
            None => ending = Some(plan.ending()),
        }
    }
    if let Some(ending) = ending {
        if keep {
            let kept = workspace.keep();
            println!("   Ceremony folder kept: {}", kept.display());
        }
        return Ok(ending);
    }
    step(
        "3",
        "Online machine: check the key, export once, save the response",
    );
    if plan.hold {
        let output = run_shown(online, &submit, &sandbox.env())?;
        narrate_hold(sandbox, key, &output, &response_dir.join(HELD_FILE), false)?;
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

    if plan.canary {
        ensure!(
            summary["canary"]["proven"] == serde_json::Value::Bool(true),
            "the real export does not report the canary proven: {summary}"
        );
        println!(
            "   The canary receipt was verified before the export; the throwaway key: {}.",
            summary["canary"]["deleted"].as_str().unwrap_or("?")
        );
    }

    step(
        "4",
        "Carry the response back across the air gap as QR codes",
    );
    let response_images = carry(
        &pngs_in(&response_dir, "response-qr")?,
        &offline_dir.join("scanned"),
    )?;
    println!(
        "   The offline machine photographs {} QR frame(s).",
        response_images.len()
    );

    step(
        "5",
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

    step("6", "Compare the rebuilt key with the sandbox's");
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

/// The folders of one canary ceremony.
struct CanaryPaths<'a> {
    /// The offline ceremony folder (the sealed key; the receipt is written there).
    ceremony: &'a Path,
    passphrase: &'a Path,
    /// `submit --out`.
    response_dir: &'a Path,
    offline_dir: &'a Path,
    online_dir: &'a Path,
}

/// The canary's crossings (Step 2a): `submit` exports the throwaway key and stops, its
/// response crosses as QR images, `reconstruct` rebuilds it and writes the receipt, whose
/// QR image crosses back. Returns the receipt's images for `submit --canary-receipt`, or
/// `None` when the ceremony stopped as the plan expects (a hold, a canary failing
/// offline), said and checked.
fn rehearse_canary(
    sandbox: &Sandbox,
    key: &KeySummary,
    offline: &Path,
    online: &Path,
    submit: &[OsString],
    paths: &CanaryPaths<'_>,
    plan: Plan,
) -> anyhow::Result<Option<Vec<PathBuf>>> {
    step(
        "2a",
        "Online machine: the canary: a throwaway key created, exported, saved",
    );
    if plan.hold {
        let output = run_shown(online, submit, &sandbox.env())?;
        let held = paths.response_dir.join(CANARY_FOLDER).join(HELD_FILE);
        narrate_hold(sandbox, key, &output, &held, true)?;
        return Ok(None);
    }
    let output = run_tool(online, submit, &sandbox.env())?;
    let stage: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("keyexport-online did not print one JSON object")?;
    ensure!(
        stage["stage"] == "canary-exported",
        "submit on a canary request did not stop after the canary: {stage}"
    );
    let canary_id = stage["canaryKeyId"].as_str().unwrap_or("?").to_owned();
    ensure!(
        !real_key_touched(sandbox, key),
        "the canary stage touched the real key {}",
        key.id
    );
    println!("   The throwaway key {canary_id} was exported; the real key is untouched.");

    step(
        "2a",
        "Carry the canary's response to the offline machine as QR codes",
    );
    let canary_dir = paths.response_dir.join(CANARY_FOLDER);
    let images = carry(
        &pngs_in(&canary_dir, "response-qr")?,
        &paths.offline_dir.join("scanned-canary"),
    )?;
    println!(
        "   The offline machine photographs {} QR frame(s).",
        images.len()
    );

    step(
        "2a",
        "Offline machine: rebuild and verify the canary, write its receipt",
    );
    let mut reconstruct = vec![
        arg("reconstruct"),
        arg("--decryption-key"),
        arg(paths.ceremony.join("decryption-key.age")),
        arg("--passphrase-file"),
        arg(paths.passphrase),
        arg("--json"),
        arg("--allow-online"),
        arg("--response"),
    ];
    reconstruct.extend(images.iter().map(arg));
    let receipt_png = paths
        .ceremony
        .join(keyexport_shared::canary::RECEIPT_PNG_NAME);
    if plan.canary_fails {
        let output = run_shown(offline, &reconstruct, &[])?;
        return narrate_canary_failure(sandbox, key, &output, &receipt_png).map(|()| None);
    }
    let output = run_tool(offline, &reconstruct, &[])?;
    let rebuilt: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("keyexport-offline did not print one JSON object")?;
    ensure!(
        rebuilt["canary"] == serde_json::Value::Bool(true),
        "reconstruct did not recognise the canary's response: {rebuilt}"
    );
    ensure!(
        receipt_png.is_file(),
        "reconstruct wrote no canary receipt image in {}",
        paths.ceremony.display()
    );

    step(
        "2a",
        "Carry the canary receipt back to the online machine as a QR image",
    );
    let receipt = carry(&[receipt_png], &paths.online_dir.join("scanned-receipt"))?;
    println!("   The online machine photographs the receipt's QR image.");
    Ok(Some(receipt))
}

/// Whether the sandbox saw an export call for, or shows as exported, the real key.
fn real_key_touched(sandbox: &Sandbox, key: &KeySummary) -> bool {
    let path = format!("/keys/{}/export", key.id);
    sandbox
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == path)
        || sandbox.keys().iter().any(|k| k.id == key.id && k.exported)
}

/// Checks that the canary failed offline and the ceremony stopped there, and says so:
/// `reconstruct` failed, no receipt was written, the real key was never exported.
fn narrate_canary_failure(
    sandbox: &Sandbox,
    key: &KeySummary,
    output: &Output,
    receipt_png: &Path,
) -> anyhow::Result<()> {
    ensure!(
        !output.status.success(),
        "--canary-share-format: reconstruct should have failed on the canary, but it succeeded"
    );
    ensure!(
        !receipt_png.exists(),
        "--canary-share-format: a canary receipt was written although the canary failed"
    );
    ensure!(
        !real_key_touched(sandbox, key),
        "--canary-share-format: the sandbox saw the real key {} exported",
        key.id
    );
    println!(
        "   As expected: the canary could not be rebuilt ({}), and no receipt",
        output.status
    );
    println!("   was written. The real key was never exported; the sandbox shows it");
    println!("   untouched:");
    println!("     {}", key.id);
    println!("   On a real ceremony: stop here. The real key's shares would fail the");
    println!("   same way; find out why (read the error above) before going on.");
    println!("   `submit` exports the real key only against a valid receipt.");
    Ok(())
}

/// Checks that `submit` stopped at the policy hold as documented, and says so: exit code
/// 9, Dfns' answer saved in `held`, the key not exported; for a canary ceremony, the
/// canary's export was the one held.
fn narrate_hold(
    sandbox: &Sandbox,
    key: &KeySummary,
    output: &Output,
    held: &Path,
    canary: bool,
) -> anyhow::Result<()> {
    ensure!(
        output.status.code() == Some(EXIT_HELD),
        "--policy-hold: keyexport-online should have stopped at the hold with exit code \
         {EXIT_HELD}, but it ended with {}",
        output.status
    );
    ensure!(
        held.is_file(),
        "--policy-hold: keyexport-online did not save Dfns' answer in {}",
        held.display()
    );
    let exported = sandbox.keys().iter().any(|k| k.id == key.id && k.exported);
    ensure!(!exported, "--policy-hold: the sandbox exported {}", key.id);
    if canary {
        println!("   The canary's export was the one held: the real key's would be held");
        println!("   the same way, so the ceremony stops before the real key is touched.");
    }
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
