//! The expected stops: a policy hold and a canary failing offline, each checked against
//! the sandbox's own record and explained to the operator.

use std::ffi::OsString;
use std::path::Path;
use std::process::Output;

use anyhow::ensure;
use sandbox::{KeySummary, Sandbox};

use super::plan::{EXIT_HELD, HELD_FILE, Rehearsal};
use super::tool::{json_of, run_shown, run_tool};

/// Runs `keyexport-online` with `submit` and returns the JSON it prints; `None` when the
/// plan holds the export, once the hold is checked and explained ([`hold`]: Dfns' answer
/// saved in `held`; `canary`: the canary's export is the one held).
pub(super) fn submit_or_hold(
    rehearsal: &Rehearsal<'_>,
    submit: &[OsString],
    held: &Path,
    canary: bool,
) -> anyhow::Result<Option<serde_json::Value>> {
    let Rehearsal {
        sandbox,
        key,
        online,
        plan,
        ..
    } = *rehearsal;
    if plan.hold {
        let output = run_shown(online, submit, &sandbox.env())?;
        hold(sandbox, key, &output, held, canary)?;
        return Ok(None);
    }
    let output = run_tool(online, submit, &sandbox.env())?;
    json_of(&output, "keyexport-online").map(Some)
}

/// Whether the sandbox saw an export call for, or shows as exported, the real key.
pub(super) fn real_key_touched(sandbox: &Sandbox, key: &KeySummary) -> bool {
    let path = format!("/keys/{}/export", key.id);
    sandbox
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == path)
        || sandbox.keys().iter().any(|k| k.id == key.id && k.exported)
}

/// Checks that the canary failed offline and the ceremony stopped there, and says so:
/// `reconstruct` failed, no receipt was written, the real key was never exported.
pub(super) fn canary_failure(
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
pub(super) fn hold(
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
