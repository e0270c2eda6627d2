//! Each sandbox fault, and what the operator gets: retries where they are safe, one
//! export call always, the response kept whenever Dfns sent one.

use std::time::Duration;

use keyexport_shared::reconstruct::reconstruct;
use sandbox::{FailStatus, Fault, Route, SandboxConfig};

use crate::common::*;

fn with(fault: Fault) -> SandboxConfig {
    SandboxConfig::default().fault(fault)
}

#[test]
fn transient_failures_of_read_and_auth_calls_are_retried() {
    for (status, route) in [
        (FailStatus::Internal, Route::GetKey),
        (FailStatus::RateLimited, Route::GetKey),
        (FailStatus::Internal, Route::ActionInit),
        (FailStatus::RateLimited, Route::Action),
    ] {
        let c = ceremony("CGGMP24:secp256k1", with(Fault::FailOnce { status, route }));
        let output = c.run();
        assert!(
            output.status.success(),
            "{status:?} {route:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("retrying"), "{}", stderr(&output));
        let answered: Vec<u16> = c.sandbox.requests().iter().map(|r| r.status).collect();
        assert!(answered.contains(&status.code()));
        assert_eq!(export_calls(&c.sandbox), 1);
        rebuild_and_compare(&c, c.dir.path());
    }
}

#[test]
fn a_failed_export_is_never_resent() {
    let c = ceremony(
        "CGGMP24:secp256k1",
        with(Fault::FailOnce {
            status: FailStatus::Internal,
            route: Route::Export,
        }),
    );
    let output = c.run();
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    assert!(stderr(&output).contains("Do NOT simply run it again"));
    assert_eq!(export_calls(&c.sandbox), 1);
    assert!(!is_exported(&c.sandbox, &c.key_id));
    // The operator checks and runs again: the preflight sees the key still active.
    let again = c.new_folder("again");
    let output = submit(&c).arg("--out").arg(&again).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    rebuild_and_compare(&c, &again);
}

#[test]
fn rate_limited_export_is_not_retried() {
    let c = ceremony(
        "FROST:secp256k1",
        with(Fault::FailOnce {
            status: FailStatus::RateLimited,
            route: Route::Export,
        }),
    );
    let output = c.run();
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert_eq!(export_calls(&c.sandbox), 1);
}

#[test]
fn timeout_after_sending_the_export_is_explained_not_retried() {
    let c = ceremony(
        "CGGMP24:secp256k1",
        with(Fault::Delay {
            route: Route::Export,
            delay: Duration::from_secs(3),
        }),
    );
    let output = submit(&c).args(["--timeout", "1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("may have reached Dfns"), "{err}");
    assert_eq!(export_calls(&c.sandbox), 1);
    // It did happen: a new attempt stops at the preflight.
    assert!(is_exported(&c.sandbox, &c.key_id));
    let again = c.new_folder("again");
    let output = submit(&c).arg("--out").arg(&again).output().unwrap();
    assert_eq!(output.status.code(), Some(5));
}

#[test]
fn tampered_share_is_saved_and_outvoted_offline() {
    let c = ceremony("CGGMP21:secp256k1", with(Fault::TamperShare));
    c.run_ok();
    let rebuilt = rebuild_and_compare(&c, c.dir.path());
    assert_eq!(rebuilt.bad_shares.len(), 1);
}

#[test]
fn dropped_share_still_meets_the_threshold() {
    let c = ceremony("FROST:ed25519", with(Fault::DropShare));
    let output = c.run_ok();
    assert_eq!(json_out(&output)["summary"]["shares"], 2);
    rebuild_and_compare(&c, c.dir.path());
}

#[test]
fn extra_signers_are_named_offline() {
    let c = ceremony("CGGMP24:stark", with(Fault::ExtraSigners(1)));
    c.run_ok();
    let rebuilt = rebuild_and_compare(&c, c.dir.path());
    assert_eq!(rebuilt.share_count, 4);
    assert_eq!(rebuilt.bad_shares.len(), 1);
}

#[test]
fn wrong_public_key_is_saved_and_reported() {
    let c = ceremony("CGGMP24:secp256k1", with(Fault::WrongPublicKey));
    let output = c.run();
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    assert!(stderr(&output).contains("differs from the key's public key"));
    // Kept verbatim, and the offline side refuses it too.
    let response = saved_response(c.dir.path());
    assert_eq!(
        reconstruct(&response, &c.decryption_key)
            .unwrap_err()
            .kind(),
        keyexport_shared::ErrorKind::PublicKey
    );
}

#[test]
fn policy_hold_is_not_an_export() {
    let c = ceremony("CGGMP24:secp256k1", with(Fault::PolicyHold));
    let output = c.run();
    assert_eq!(output.status.code(), Some(9), "{}", stderr(&output));
    assert_eq!(json_out(&output)["error"]["kind"], "held-for-approval");
    let held = std::fs::read(c.dir.path().join("export-held.json")).unwrap();
    let held: serde_json::Value = serde_json::from_slice(&held).unwrap();
    assert_eq!(held["status"], "Pending");
    assert!(!c.dir.path().join("response.json").exists());
    assert!(!is_exported(&c.sandbox, &c.key_id));
}

#[test]
fn missing_permission_names_keys_export() {
    let c = ceremony("CGGMP24:secp256k1", with(Fault::MissingExportPermission));
    // Exit 6, the permission named, what to do.
    insta::assert_snapshot!(crate::errors::report_of(&c, c.run()));
    assert!(!is_exported(&c.sandbox, &c.key_id));
}

#[test]
fn feature_not_enabled() {
    let c = ceremony("CGGMP24:secp256k1", with(Fault::ExportNotEnabled));
    // Exit 6, HTTP 402, and to ask Dfns to enable the feature.
    insta::assert_snapshot!(crate::errors::report_of(&c, c.run()));
}

/// The decrypted share documents of a saved response, as text.
fn share_documents(c: &Ceremony) -> Vec<String> {
    saved_response(c.dir.path())
        .shares
        .iter()
        .map(|share| {
            let plain =
                keyexport_shared::ecies::decrypt_share(&c.decryption_key, &share.ciphertext)
                    .unwrap();
            String::from_utf8(plain.to_vec()).unwrap()
        })
        .collect()
}

#[test]
fn hd_master_key_export_carries_its_chain_code_and_outvotes_an_odd_signer() {
    for other_chain_code in [false, true] {
        let mut spec = sandbox::KeySpec::new("CGGMP24:secp256k1".parse().unwrap());
        spec.master_key = true;
        let mut config = SandboxConfig::with_keys(vec![spec]);
        if other_chain_code {
            config = config.fault(Fault::OtherChainCode);
        }
        let c = ceremony("CGGMP24:secp256k1", config);
        c.run_ok();
        let documents = share_documents(&c);
        assert!(
            documents
                .iter()
                .all(|d| d.contains("},\"chain_code\":\"") && d.ends_with("=\"}")),
            "{documents:?}"
        );
        let rebuilt = rebuild_and_compare(&c, c.dir.path());
        let expected = c.sandbox.chain_code(&c.key_id);
        assert!(expected.is_some() && rebuilt.is_hd());
        assert_eq!(rebuilt.chain_code, expected);
        let kinds: Vec<&str> = rebuilt
            .bad_shares
            .iter()
            .map(|b| b.fault.kind().as_str())
            .collect();
        assert_eq!(
            kinds,
            if other_chain_code {
                vec!["chain-code"]
            } else {
                vec![]
            }
        );
    }
}

#[test]
fn ordinary_keys_carry_a_null_chain_code_and_legacy_documents_still_rebuild() {
    let current = ceremony("FROST:ed25519", SandboxConfig::default());
    current.run_ok();
    for document in share_documents(&current) {
        assert!(document.ends_with("},\"chain_code\":null}"), "{document}");
    }
    assert!(!rebuild_and_compare(&current, current.dir.path()).is_hd());

    let legacy = ceremony("FROST:ed25519", with(Fault::LegacyShares));
    legacy.run_ok();
    for document in share_documents(&legacy) {
        assert!(!document.contains("chain_code"), "{document}");
    }
    assert!(!rebuild_and_compare(&legacy, legacy.dir.path()).is_hd());
}
