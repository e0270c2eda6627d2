//! The canary stage (the runbook's Step 2a): `submit` exports a throwaway key and stops,
//! its response crosses as QR images, `reconstruct` rebuilds it and writes the receipt,
//! whose QR image crosses back for `submit --canary-receipt`.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::ensure;

use super::narrate;
use super::plan::{CANARY_FOLDER, HELD_FILE, Rehearsal};
use super::tool::{carry, json_of, pngs_in, run_shown, run_tool, step};
use super::workspace::Workspace;

/// The canary's crossings. Returns the receipt's images for `submit --canary-receipt`, or
/// `None` when the ceremony stopped as the plan expects (a hold, a canary failing
/// offline), said and checked.
pub(super) fn stage(
    rehearsal: &Rehearsal<'_>,
    workspace: &Workspace,
    submit: &[OsString],
) -> anyhow::Result<Option<Vec<PathBuf>>> {
    if !export(rehearsal, workspace, submit)? {
        return Ok(None);
    }
    let images = cross(workspace)?;
    if !rebuild(rehearsal, workspace, &images)? {
        return Ok(None);
    }
    carry_receipt(workspace).map(Some)
}

/// Online: `submit` on the canary request exports the throwaway key and stops, the real
/// key untouched. False when the export was held, as the plan expects (checked).
fn export(
    rehearsal: &Rehearsal<'_>,
    workspace: &Workspace,
    submit: &[OsString],
) -> anyhow::Result<bool> {
    step(
        "2a",
        "Online machine: the canary: a throwaway key created, exported, saved",
    );
    let held = workspace.response_dir.join(CANARY_FOLDER).join(HELD_FILE);
    let Some(stage) = narrate::submit_or_hold(rehearsal, submit, &held, true)? else {
        return Ok(false);
    };
    ensure!(
        stage["stage"] == "canary-exported",
        "submit on a canary request did not stop after the canary: {stage}"
    );
    let canary_id = stage["canaryKeyId"].as_str().unwrap_or("?").to_owned();
    let key = rehearsal.key;
    ensure!(
        !narrate::real_key_touched(rehearsal.sandbox, key),
        "the canary stage touched the real key {}",
        key.id
    );
    println!("   The throwaway key {canary_id} was exported; the real key is untouched.");
    Ok(true)
}

/// The canary's response crosses to the offline machine as QR images.
fn cross(workspace: &Workspace) -> anyhow::Result<Vec<PathBuf>> {
    step(
        "2a",
        "Carry the canary's response to the offline machine as QR codes",
    );
    let canary_dir = workspace.response_dir.join(CANARY_FOLDER);
    let images = carry(
        &pngs_in(&canary_dir, "response-qr")?,
        &workspace.offline_dir.join("scanned-canary"),
    )?;
    println!(
        "   The offline machine photographs {} QR frame(s).",
        images.len()
    );
    Ok(images)
}

/// Offline: `reconstruct` rebuilds the canary from its images and writes the receipt.
/// False when the canary failed offline, as the plan expects (checked).
fn rebuild(
    rehearsal: &Rehearsal<'_>,
    workspace: &Workspace,
    images: &[PathBuf],
) -> anyhow::Result<bool> {
    let Rehearsal {
        sandbox,
        key,
        offline,
        plan,
        ..
    } = *rehearsal;
    step(
        "2a",
        "Offline machine: rebuild and verify the canary, write its receipt",
    );
    let reconstruct = workspace.reconstruct_args(images, false);
    let receipt_png = receipt_png(workspace);
    if plan.canary_fails {
        let output = run_shown(offline, &reconstruct, &[])?;
        narrate::canary_failure(sandbox, key, &output, &receipt_png)?;
        return Ok(false);
    }
    let output = run_tool(offline, &reconstruct, &[])?;
    let rebuilt = json_of(&output, "keyexport-offline")?;
    ensure!(
        rebuilt["canary"] == serde_json::Value::Bool(true),
        "reconstruct did not recognise the canary's response: {rebuilt}"
    );
    ensure!(
        receipt_png.is_file(),
        "reconstruct wrote no canary receipt image in {}",
        workspace.ceremony.display()
    );
    Ok(true)
}

/// The receipt's QR image crosses back to the online machine.
fn carry_receipt(workspace: &Workspace) -> anyhow::Result<Vec<PathBuf>> {
    step(
        "2a",
        "Carry the canary receipt back to the online machine as a QR image",
    );
    let receipt = carry(
        &[receipt_png(workspace)],
        &workspace.online_dir.join("scanned-receipt"),
    )?;
    println!("   The online machine photographs the receipt's QR image.");
    Ok(receipt)
}

/// Where `reconstruct` writes the canary receipt's QR image.
fn receipt_png(workspace: &Workspace) -> PathBuf {
    workspace
        .ceremony
        .join(keyexport_shared::canary::RECEIPT_PNG_NAME)
}
