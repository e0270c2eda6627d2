//! Tokens and credentials: each failure is specific, happens before the export, and
//! never echoes a secret.

use sandbox::{CredentialKind, SandboxConfig, TestCredential};

use crate::common::*;

#[test]
fn bad_and_expired_tokens() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    for token in ["not-a-token", c.sandbox.expired_token()] {
        let output = submit(&c).env("DFNS_AUTH_TOKEN", token).output().unwrap();
        assert_eq!(output.status.code(), Some(6));
        let err = stderr(&output);
        assert!(
            err.contains("HTTP 401") && err.contains("DFNS_AUTH_TOKEN"),
            "{err}"
        );
        assert!(!err.contains(token) && !String::from_utf8_lossy(&output.stdout).contains(token));
    }
    assert_eq!(export_calls(&c.sandbox), 0);
}

#[test]
fn unknown_credential_id_is_named() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = submit(&c)
        .env("DFNS_CRED_ID", "cr-someone-else")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let err = stderr(&output);
    assert!(
        err.contains("cr-someone-else") && err.contains(c.sandbox.credential().id()),
        "{err}"
    );
    assert_eq!(export_calls(&c.sandbox), 0);
}

#[test]
fn wrong_private_key_is_refused_by_dfns() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let other = TestCredential::generate("x", CredentialKind::P256).unwrap();
    let output = submit(&c)
        .env("DFNS_PRIVATE_KEY", other.private_pem())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let err = stderr(&output);
    assert!(err.contains("invalid credential signature"), "{err}");
    assert!(!err.contains("PRIVATE KEY"));
    assert!(!is_exported(&c.sandbox, &c.key_id));
}

#[test]
fn missing_configuration_stops_before_traffic() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    for missing in ["DFNS_AUTH_TOKEN", "DFNS_CRED_ID", "DFNS_PRIVATE_KEY"] {
        let output = submit(&c).env_remove(missing).output().unwrap();
        assert_eq!(output.status.code(), Some(4), "{missing}");
        assert!(
            stderr(&output).contains(missing),
            "{missing}: {}",
            stderr(&output)
        );
    }
    let output = submit(&c)
        .env(
            "DFNS_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(c.sandbox.requests().is_empty());
}

#[test]
fn plain_http_only_to_loopback() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let output = submit(&c)
        .env("DFNS_API_URL", "http://api.dfns.io")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(stderr(&output).contains("not https"));
    let url = c.sandbox.url().replace("127.0.0.1", "localhost");
    let output = submit(&c).env("DFNS_API_URL", url).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn connection_refused_is_a_network_failure_with_nothing_exported() {
    let c = ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = submit(&c)
        .env("DFNS_API_URL", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert!(stderr(&output).contains("nothing was exported"));
}
