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
//!
//! Here: the command, the keys chosen and the overall verdict. `ceremony` runs one key's
//! steps, `canary` the canary stage, `narrate` checks and explains the expected stops
//! (a hold, a canary failing offline); `plan`, `tool` and `workspace` are what they share.

mod canary;
mod ceremony;
mod narrate;
mod plan;
mod tool;
mod workspace;

use anyhow::ensure;
use clap::Args;
use keyexport_shared::scheme::Scheme;
use sandbox::binaries::Build;
use sandbox::{KeySpec, KeySummary, Sandbox};

use crate::SandboxArgs;
use ceremony::rehearse_key;
use plan::{EXIT_HELD, Ending, Plan, Rehearsal};

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

/// Runs the rehearsal: builds the binaries, starts the sandbox, rehearses each chosen key
/// and checks that each ended as the plan expects.
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
    let plan = Plan {
        canary: !args.no_canary,
        hold: config.has(&sandbox::Fault::PolicyHold),
        canary_fails: config.has(&sandbox::Fault::CanaryShareFormat),
        keep: args.keep,
    };
    announce(plan);
    let sandbox = Sandbox::start(config)?;
    let keys = sandbox.keys();
    let chosen = choose(&keys, args.no_hd)?;
    for (n, key) in chosen.iter().enumerate() {
        introduce(&sandbox, key, n + 1, chosen.len());
        let rehearsal = Rehearsal {
            sandbox: &sandbox,
            key,
            offline,
            online,
            plan: key_plan(plan, key),
        };
        let ending = rehearse_key(&rehearsal)?;
        ensure!(
            ending == rehearsal.plan.ending(),
            "the rehearsal of {} ended unexpectedly",
            key.id
        );
    }
    conclude(plan);
    Ok(())
}

/// Says what kind of ceremony is rehearsed and which stop, if any, it sets out to show.
fn announce(plan: Plan) {
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
    if plan.hold {
        println!("--policy-hold: a Dfns policy will hold every export for approval. The");
        println!("rehearsal shows what the operator then sees, and passes when");
        println!("keyexport-online stops there as documented.");
    }
}

/// The keys rehearsed: the sandbox's first, then (unless `--no-hd`) its first other HD
/// master key.
fn choose(keys: &[KeySummary], no_hd: bool) -> anyhow::Result<Vec<&KeySummary>> {
    let first = keys
        .first()
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no key"))?;
    let mut chosen = vec![first];
    if !no_hd && let Some(master) = keys.iter().find(|k| k.master_key && k.id != first.id) {
        chosen.push(master);
    }
    Ok(chosen)
}

/// The header of one key's rehearsal.
fn introduce(sandbox: &Sandbox, key: &KeySummary, number: usize, count: usize) {
    println!(
        "\n══ Key {number} of {count}: {} ({}, {}-of-{}{}) at {}",
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
}

/// The plan for one key: Dfns creates keys of the pairs it issues only, so another pair
/// has no canary (said).
fn key_plan(plan: Plan, key: &KeySummary) -> Plan {
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
    key_plan
}

/// The verdict once every key ended as planned.
fn conclude(plan: Plan) {
    if plan.ending() == Ending::CanaryFailed {
        println!("\nEvery canary failed offline and every ceremony stopped there, as");
        println!("--canary-share-format set out to show: no real key was exported.");
        println!("The rehearsal passed.");
    } else if plan.hold {
        println!("\nEvery export was held by the policy, as --policy-hold set out to show:");
        println!("nothing was exported, and keyexport-online kept Dfns' answer and stopped");
        println!("with exit code {EXIT_HELD}. The rehearsal passed.");
    } else {
        println!("\nEvery key rehearsed: the rehearsal passed.");
    }
}
