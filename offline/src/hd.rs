//! The HD tree of a rebuilt key on the offline machine (spec §4a): the root's `xpub`, the
//! children asked for with `--derive`, and the check of every wallet the Dfns key object
//! lists.
//!
//! A key whose shares carry a chain code is the root of an HD tree. Derivation is the one
//! Dfns' MPC stack uses (`keyexport_shared::hd`): BIP-32 for secp256k1, `hd-wallet`'s
//! Edwards scheme for ed25519 and its Stark scheme for stark. Children are computed from
//! the verified root, so they are as trustworthy as the root; their private keys are shown
//! only with `--reveal` and written only with `--out`.

use std::path::{Path, PathBuf};

use keyexport_shared::chain_code::ChainCode;
use keyexport_shared::curve::PrivateKey;
use keyexport_shared::hd::{self, DerivationPath, DerivedKey};
use keyexport_shared::key_object::{self, KeyObjectFacts, WalletCheck, WalletStatus};
use keyexport_shared::reconstruct::Reconstruction;
use keyexport_shared::scheme::Curve;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::addresses::Addresses;
use crate::cli::Network;
use crate::error::{CliError, CliResult};

/// Wallets listed one per line in the human summary; the rest are counted (all are in
/// `--json`).
const WALLETS_SHOWN: usize = 8;

/// The `hd` network of `--network`.
pub(crate) fn network(network: Network) -> hd::Network {
    match network {
        Network::Mainnet => hd::Network::Mainnet,
        Network::Testnet => hd::Network::Testnet,
    }
}

/// The chain code, or the refusal naming what needed it.
pub(crate) fn require_chain_code<'a>(
    reconstruction: &'a Reconstruction,
    what: &str,
) -> CliResult<&'a ChainCode> {
    reconstruction
        .chain_code
        .as_ref()
        .ok_or_else(|| CliError::NoChainCode { what: what.into() })
}

/// The root's `xpub` (`tpub` on testnet): secp256k1 HD keys only.
pub(crate) fn root_xpub(reconstruction: &Reconstruction, network: Network) -> Option<String> {
    let chain_code = reconstruction.chain_code.as_ref()?;
    hd::xpub(
        &reconstruction.public_key,
        chain_code,
        self::network(network),
    )
    .ok()
}

/// The root's `xprv` for `--json --reveal` (secp256k1 HD roots only; `None` otherwise).
pub(crate) fn revealed_xprv(
    reconstruction: &Reconstruction,
    network: Network,
    reveal: bool,
) -> CliResult<Option<Zeroizing<String>>> {
    let Some(chain_code) = reconstruction.chain_code.as_ref().filter(|_| reveal) else {
        return Ok(None);
    };
    if !has_extended_keys(reconstruction.public_key.curve()) {
        return Ok(None);
    }
    hd::xprv(
        &reconstruction.private_key,
        chain_code,
        self::network(network),
    )
    .map(Some)
    .map_err(|e| CliError::Internal(format!("xprv: {e}")))
}

/// One child of `--derive`, with its addresses.
pub(crate) struct Child {
    pub(crate) key: DerivedKey,
    pub(crate) addresses: Addresses,
}

/// Derives the children at `paths` (none: nothing asked, no chain code needed).
pub(crate) fn derive_children(
    reconstruction: &Reconstruction,
    paths: &[DerivationPath],
) -> CliResult<Vec<Child>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let chain_code = require_chain_code(reconstruction, "--derive")?;
    paths
        .iter()
        .map(|path| {
            let key = derive_one(&reconstruction.private_key, chain_code, path)?;
            let addresses = crate::addresses::of(&key.public_key)?;
            Ok(Child { key, addresses })
        })
        .collect()
}

/// The child at `path` of a verified root.
pub(crate) fn derive_one(
    root: &PrivateKey,
    chain_code: &ChainCode,
    path: &DerivationPath,
) -> CliResult<DerivedKey> {
    hd::derive(root, chain_code, path)
        .map_err(|e| CliError::Internal(format!("derivation at {path}: {e}")))
}

/// The file a child's key goes to beside `out`: `key.hex` and `m/0/5` give
/// `key.m-0-5.hex` (`key.m-0-5` when `out` has no extension).
pub(crate) fn child_out(out: &Path, path: &DerivationPath) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match out.extension() {
        Some(ext) => format!("{stem}.{}.{}", path.file_stem(), ext.to_string_lossy()),
        None => format!("{stem}.{}", path.file_stem()),
    };
    out.with_file_name(name)
}

/// The wallet check of one key: each entry's outcome, a mismatch being an error.
pub(crate) struct Wallets {
    pub(crate) checks: Vec<WalletCheck>,
}

/// Checks the wallets the key object lists (nothing recorded: no check). A wallet whose
/// derived public key differs from the recorded one fails the run (exit 4, `public-key`).
pub(crate) fn check_wallets(
    reconstruction: &Reconstruction,
    facts: Option<&KeyObjectFacts>,
) -> CliResult<Option<Wallets>> {
    let Some(facts) = facts.filter(|f| f.wallets.is_some()) else {
        return Ok(None);
    };
    let checks = key_object::check_wallets(
        facts,
        &reconstruction.private_key,
        reconstruction.chain_code.as_ref(),
    );
    if let Some(bad) = checks
        .iter()
        .find(|c| matches!(c.status, WalletStatus::Mismatch { .. }))
        && let WalletStatus::Mismatch { recorded, derived } = &bad.status
    {
        return Err(CliError::WalletMismatch {
            wallet: bad.wallet.clone(),
            path: bad.path.clone().unwrap_or_default(),
            recorded: recorded.clone(),
            derived: derived.clone(),
        });
    }
    Ok(Some(Wallets { checks }))
}

impl Wallets {
    fn verified(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == WalletStatus::Verified)
            .count()
    }

    /// The reason shared by every entry that cannot be checked, if they share one.
    fn common_reason(&self) -> Option<&str> {
        let mut reasons = self.checks.iter().filter_map(|c| match &c.status {
            WalletStatus::NotCheckable(reason) => Some(reason.as_str()),
            _ => None,
        });
        let first = reasons.next()?;
        reasons.all(|r| r == first).then_some(first)
    }

    /// `4 verified, 1 not checkable (no derivation path in the key object)`.
    pub(crate) fn summary(&self) -> String {
        let not_checkable = self.checks.len() - self.verified();
        let mut text = format!("{} verified", self.verified());
        if not_checkable > 0 {
            let why = self.common_reason().unwrap_or("reasons below");
            text.push_str(&format!(", {not_checkable} not checkable ({why})"));
        }
        text
    }

    /// The summary and one line per wallet (at most [`WALLETS_SHOWN`]), for standard error.
    /// A reason is repeated on a wallet's line only when the summary could not give it.
    pub(crate) fn print(&self) {
        eprintln!("Wallets      {}", self.summary());
        let common = self.common_reason();
        for check in self.checks.iter().take(WALLETS_SHOWN) {
            let outcome = match &check.status {
                WalletStatus::Verified => "verified".to_owned(),
                WalletStatus::NotCheckable(reason) if Some(reason.as_str()) == common => {
                    "not checkable".to_owned()
                }
                WalletStatus::NotCheckable(reason) => format!("not checkable: {reason}"),
                WalletStatus::Mismatch { .. } => "MISMATCH".to_owned(),
            };
            let path = check.path.as_deref().unwrap_or("-");
            eprintln!("  {}  {path}  {outcome}", check.wallet);
        }
        if self.checks.len() > WALLETS_SHOWN {
            eprintln!(
                "  … and {} more (all listed by --json)",
                self.checks.len() - WALLETS_SHOWN
            );
        }
    }

    pub(crate) fn to_json(&self) -> WalletsJson {
        WalletsJson {
            verified: self.verified(),
            not_checkable: self.checks.len() - self.verified(),
            wallets: self
                .checks
                .iter()
                .map(|c| {
                    let (status, reason) = match &c.status {
                        WalletStatus::Verified => ("verified", None),
                        WalletStatus::NotCheckable(reason) => {
                            ("not-checkable", Some(reason.clone()))
                        }
                        WalletStatus::Mismatch { .. } => ("mismatch", None),
                    };
                    WalletJson {
                        id: c.wallet.clone(),
                        network: c.network.clone(),
                        path: c.path.clone(),
                        status,
                        reason,
                    }
                })
                .collect(),
        }
    }
}

/// The wallet check as `--json` reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WalletsJson {
    verified: usize,
    not_checkable: usize,
    wallets: Vec<WalletJson>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct WalletJson {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// A derived child as `--json` reports it; `privateKey` only under `--reveal`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DerivedJson {
    path: String,
    public_key: String,
    addresses: Addresses,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<Zeroizing<String>>,
}

impl DerivedJson {
    pub(crate) fn new(child: &Child, reveal: bool) -> DerivedJson {
        DerivedJson {
            path: child.key.path.to_string(),
            public_key: child.key.public_key.to_hex(),
            addresses: child.addresses.clone(),
            private_key: reveal.then(|| child.key.private_key.to_hex()),
        }
    }
}

/// Splits a long public value (an xpub is 111 characters) into lines that fit an
/// 80-column terminal after the 13-column label.
pub(crate) fn print_wrapped(label: &str, value: &str) {
    let chunks: Vec<&str> = value
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    for (i, chunk) in chunks.iter().enumerate() {
        if i == 0 {
            eprintln!("{label:<13}{chunk}");
        } else {
            eprintln!("{:<13}{chunk}", "");
        }
    }
}

/// The human lines about the HD tree: the root's xpub and each `--derive` child.
pub(crate) fn print_tree(reconstruction: &Reconstruction, xpub: Option<&str>, children: &[Child]) {
    if let Some(xpub) = xpub {
        print_wrapped("Xpub", xpub);
    }
    let scheme = hd::scheme_name(reconstruction.public_key.curve());
    for child in children {
        eprintln!("Derived      {} ({scheme})", child.key.path);
        eprintln!("Public key   {}", child.key.public_key.to_hex());
        for (label, value) in child.addresses.labelled() {
            eprintln!("  {label:<24}{value}");
        }
    }
}

/// Whether a key object says the key is an HD master key (`masterKey: true`).
pub(crate) fn says_master_key(facts: Option<&KeyObjectFacts>) -> bool {
    facts.and_then(|f| f.master_key.as_ref()) == Some(&serde_json::Value::Bool(true))
}

/// The note for a key object that says `masterKey: true` while the shares carry no chain
/// code: Dfns' view and the export disagree, and no child can be derived.
pub(crate) fn master_key_without_chain_code(
    reconstruction: &Reconstruction,
    facts: Option<&KeyObjectFacts>,
) -> Option<&'static str> {
    (says_master_key(facts) && reconstruction.chain_code.is_none()).then_some(
        "the key object says masterKey: true, but the shares carry no chain code: no child key can be derived from this export",
    )
}

/// Whether the curve has BIP-32 extended keys (`xpub`/`xprv`).
pub(crate) fn has_extended_keys(curve: Curve) -> bool {
    curve == Curve::Secp256k1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: WalletStatus) -> WalletCheck {
        WalletCheck {
            wallet: "wa-1".into(),
            network: None,
            path: None,
            status,
        }
    }

    #[test]
    fn the_summary_names_the_reason_when_all_unchecked_wallets_share_it() {
        let no_path = || WalletStatus::NotCheckable(key_object::NO_PATH.into());
        let wallets = Wallets {
            checks: vec![
                check(WalletStatus::Verified),
                check(no_path()),
                check(no_path()),
            ],
        };
        assert_eq!(
            wallets.summary(),
            "1 verified, 2 not checkable (no derivation path in the key object)"
        );
        let mixed = Wallets {
            checks: vec![
                check(no_path()),
                check(WalletStatus::NotCheckable("other".into())),
            ],
        };
        assert_eq!(
            mixed.summary(),
            "0 verified, 2 not checkable (reasons below)"
        );
        let all = Wallets {
            checks: vec![check(WalletStatus::Verified)],
        };
        assert_eq!(all.summary(), "1 verified");
    }

    #[test]
    fn child_files_are_named_by_the_path_beside_out() {
        let path: DerivationPath = "m/44'/0/5".parse().unwrap();
        assert_eq!(
            child_out(Path::new("/x/key.hex"), &path),
            PathBuf::from("/x/key.m-44h-0-5.hex")
        );
        assert_eq!(
            child_out(Path::new("key"), &path),
            PathBuf::from("key.m-44h-0-5")
        );
    }
}
