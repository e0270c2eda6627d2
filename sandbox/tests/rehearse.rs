//! `dfns-sandbox rehearse`: the whole ceremony through both binaries and QR images.

use assert_cmd::Command;

fn rehearse(args: &[&str]) -> std::process::Output {
    // `--no-build` below: the binaries are brought up to date here, once per test.
    sandbox::binaries::ensure_built(
        &["keyexport-offline", "keyexport-online"],
        sandbox::binaries::Build::IfOutdated,
    )
    .expect("the ceremony binaries build");
    Command::cargo_bin("dfns-sandbox")
        .unwrap()
        .args(["rehearse", "--no-build"])
        .args(args)
        .write_stdin("")
        .output()
        .unwrap()
}

#[test]
fn rehearsal_passes_on_each_curve() {
    for scheme in ["CGGMP24:secp256k1", "FROST:ed25519", "CGGMP21:stark"] {
        let output = rehearse(&["--scheme", scheme]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{scheme}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("Step 6/6"), "{stdout}");
        assert!(stdout.contains("the rehearsal passed"), "{stdout}");
        // The canary path is the default: a throwaway key first, its receipt carried back.
        assert!(stdout.contains("Step 2a/6"), "{stdout}");
        assert!(
            stdout.contains(
                "The canary receipt was verified before the export; the throwaway key: deleted."
            ),
            "{stdout}"
        );
        // The HD master key of the same scheme follows, its wallets checked offline.
        assert!(stdout.contains("Key 2 of 2"), "{stdout}");
        assert!(stdout.contains("HD master key"), "{stdout}");
        assert!(
            stdout.contains(
                "Wallets      2 verified, 1 not checkable (no derivation path in the key object)"
            ),
            "{stdout}"
        );
        assert!(
            stdout.contains("Wallets checked offline: 2 verified, 1 not checkable"),
            "{stdout}"
        );
    }
}

#[test]
fn rehearsal_of_the_ordinary_key_only_without_canary() {
    let output = rehearse(&["--no-hd", "--no-canary"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Key 1 of 1") && !stdout.contains("HD master key"));
    assert!(
        !stdout.contains("Step 2a/6") && !stdout.contains("canary"),
        "{stdout}"
    );
    assert!(stdout.contains("the rehearsal passed"), "{stdout}");
}

/// A canary that fails offline (a share-format fault injected in the canary's export
/// only) stops the ceremony before the real key is touched: the rehearsal checks, in the
/// sandbox's own record, that no export of the real key was ever asked for.
#[test]
fn a_canary_that_fails_offline_stops_the_ceremony_before_the_real_key() {
    let output = rehearse(&["--canary-share-format"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("not valid share documents"), "{stdout}");
    assert!(
        stdout.contains("As expected: the canary could not be rebuilt"),
        "{stdout}"
    );
    assert!(
        stdout.contains("The real key was never exported; the sandbox shows it"),
        "{stdout}"
    );
    assert!(!stdout.contains("Step 3/6"), "{stdout}");
    assert!(stdout.contains("Key 2 of 2"), "{stdout}");
    assert!(stdout.contains("The rehearsal passed."), "{stdout}");
}

/// The same fault without canary harms nothing: it touches created keys only.
#[test]
fn the_canary_fault_leaves_the_real_export_alone() {
    let output = rehearse(&["--canary-share-format", "--no-canary", "--no-hd"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("Every key rehearsed: the rehearsal passed."),
        "{stdout}"
    );
}

#[test]
fn rehearsal_with_a_faulty_dfns_fails() {
    let output = rehearse(&["--wrong-public-key"]);
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("differs from the key's public key"),
        "{stdout}"
    );
    assert!(!stdout.contains("the rehearsal passed"));
}

#[test]
fn rehearsal_survives_a_tampered_share() {
    let output = rehearse(&["--scheme", "KU23:ed25519", "--tamper-share"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("the rehearsal passed"));
}

#[test]
fn rehearsal_of_a_policy_hold_narrates_the_hold_and_passes() {
    let output = rehearse(&["--policy-hold"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("As expected: Dfns answered HTTP 202"),
        "{stdout}"
    );
    assert!(
        stdout.contains("with exit code 9, as documented for a hold"),
        "{stdout}"
    );
    assert!(stdout.contains("Nothing was exported"), "{stdout}");
    assert!(
        stdout.contains("The canary's export was the one held"),
        "{stdout}"
    );
    assert!(!stdout.contains("Step 3/6"), "{stdout}");
    assert!(!stdout.contains("Step 4/6"), "{stdout}");
    assert!(!stdout.contains("failed (exit status"), "{stdout}");
    assert!(stdout.contains("Key 2 of 2"), "{stdout}");
    assert!(stdout.contains("The rehearsal passed."), "{stdout}");
}

#[test]
fn rehearsal_expecting_a_hold_fails_when_submit_fails_otherwise() {
    // Held, but the credential may not export either: the 403 comes first, so submit
    // ends with another code than the hold's, and the rehearsal says so.
    let output = rehearse(&["--policy-hold", "--no-export-permission", "--no-hd"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("should have stopped at the hold with exit code 9"),
        "{stderr}"
    );
}
