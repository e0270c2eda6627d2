//! One whole ceremony for one key, step by step as the runbook numbers them: init
//! offline (1), the request crosses (2), the canary stage (2a, in a canary ceremony),
//! submit online (3), the response crosses back (4), reconstruct offline (5), and the
//! rebuilt key compared with the sandbox's (6).

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{bail, ensure};
use keyexport_shared::scheme::Scheme;

use super::canary;
use super::narrate;
use super::plan::{Ending, HELD_FILE, Rehearsal};
use super::tool::{arg, carry, json_of, pngs_in, run_tool, step};
use super::workspace::Workspace;

/// One whole ceremony for the key, in its own folder; with a hold, up to the held
/// export; with a canary that fails offline, up to that failure.
pub(super) fn rehearse_key(rehearsal: &Rehearsal<'_>) -> anyhow::Result<Ending> {
    let workspace = Workspace::new()?;
    let ending = steps(rehearsal, &workspace)?;
    workspace.finish(rehearsal.plan.keep);
    Ok(ending)
}

/// The steps, each one's failure ending the rehearsal of the key.
fn steps(rehearsal: &Rehearsal<'_>, workspace: &Workspace) -> anyhow::Result<Ending> {
    init(rehearsal, workspace)?;
    let mut submit = cross_request(workspace)?;
    if rehearsal.plan.canary {
        match canary::stage(rehearsal, workspace, &submit)? {
            Some(receipt_images) => {
                submit.push(arg("--canary-receipt"));
                submit.extend(receipt_images.iter().map(arg));
            }
            None => return Ok(rehearsal.plan.ending()),
        }
    }
    if !export(rehearsal, workspace, &submit)? {
        return Ok(Ending::Held);
    }
    let images = cross_response(workspace)?;
    let result = reconstruct(rehearsal, workspace, &images)?;
    compare(rehearsal, &result)?;
    Ok(Ending::Rebuilt)
}

/// Step 1, offline: `init` creates the sealed decryption key and the request (a canary
/// request in a canary ceremony).
fn init(rehearsal: &Rehearsal<'_>, workspace: &Workspace) -> anyhow::Result<()> {
    let key = rehearsal.key;
    step(
        "1",
        "Offline machine: create the decryption key and the export request",
    );
    let mut init = vec![
        arg("init"),
        arg("--key-id"),
        arg(&key.id),
        arg("--out"),
        arg(&workspace.ceremony),
        arg("--passphrase-file"),
        arg(&workspace.passphrase),
        arg("--allow-online"),
    ];
    if rehearsal.plan.canary {
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
    run_tool(rehearsal.offline, &init, &[])?;
    Ok(())
}

/// Step 2: the request crosses to the online machine as QR images (the file stays
/// behind). Returns `submit`'s arguments, reading those images.
fn cross_request(workspace: &Workspace) -> anyhow::Result<Vec<OsString>> {
    step("2", "Carry the request across the air gap as QR codes");
    let request_images = carry(
        &pngs_in(&workspace.ceremony, "request")?,
        &workspace.online_dir.join("scanned"),
    )?;
    println!(
        "   The online machine photographs {} QR image(s); the request file itself stays behind.",
        request_images.len()
    );
    let mut submit = vec![arg("submit")];
    for image in &request_images {
        submit.push(arg("--request"));
        submit.push(arg(image));
    }
    submit.extend([
        arg("--out"),
        arg(&workspace.response_dir),
        arg("--yes"),
        arg("--json"),
    ]);
    Ok(submit)
}

/// Step 3, online: `submit` checks the key, exports it once and saves the response (in a
/// canary ceremony, against the canary receipt). False when the export was held, as the
/// plan expects (checked).
fn export(
    rehearsal: &Rehearsal<'_>,
    workspace: &Workspace,
    submit: &[OsString],
) -> anyhow::Result<bool> {
    step(
        "3",
        "Online machine: check the key, export once, save the response",
    );
    let held = workspace.response_dir.join(HELD_FILE);
    let Some(summary) = narrate::submit_or_hold(rehearsal, submit, &held, false)? else {
        return Ok(false);
    };
    println!(
        "   Response saved in {}",
        summary["response"].as_str().unwrap_or("?")
    );
    if rehearsal.plan.canary {
        ensure!(
            summary["canary"]["proven"] == serde_json::Value::Bool(true),
            "the real export does not report the canary proven: {summary}"
        );
        println!(
            "   The canary receipt was verified before the export; the throwaway key: {}.",
            summary["canary"]["deleted"].as_str().unwrap_or("?")
        );
    }
    Ok(true)
}

/// Step 4: the response crosses back to the offline machine as QR images.
fn cross_response(workspace: &Workspace) -> anyhow::Result<Vec<PathBuf>> {
    step(
        "4",
        "Carry the response back across the air gap as QR codes",
    );
    let response_images = carry(
        &pngs_in(&workspace.response_dir, "response-qr")?,
        &workspace.offline_dir.join("scanned"),
    )?;
    println!(
        "   The offline machine photographs {} QR frame(s).",
        response_images.len()
    );
    Ok(response_images)
}

/// Step 5, offline: `reconstruct` decrypts the shares from the images, rebuilds and
/// verifies the key. Returns its JSON output (the key revealed, for step 6).
fn reconstruct(
    rehearsal: &Rehearsal<'_>,
    workspace: &Workspace,
    images: &[PathBuf],
) -> anyhow::Result<serde_json::Value> {
    step(
        "5",
        "Offline machine: decrypt the shares, rebuild and verify the key",
    );
    let reconstruct = workspace.reconstruct_args(images, true);
    let output = run_tool(rehearsal.offline, &reconstruct, &[])?;
    json_of(&output, "keyexport-offline")
}

/// Step 6: the rebuilt key equals the sandbox's; an HD master key came with its chain
/// code and had wallets verified offline.
fn compare(rehearsal: &Rehearsal<'_>, result: &serde_json::Value) -> anyhow::Result<()> {
    let key = rehearsal.key;
    step("6", "Compare the rebuilt key with the sandbox's");
    let rebuilt = result["privateKey"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the reconstruct output has no privateKey"))?;
    let expected = rehearsal
        .sandbox
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
    Ok(())
}
