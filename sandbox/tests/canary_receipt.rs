//! The canary receipt signed by the offline binary's own signer: for each curve, a key
//! the sandbox's dealer made is signed with by `keyexport-offline sign` over the message
//! `keyexport_shared::canary` asks for, and the receipt built from that signature verifies
//! from public data. This is the signing path the offline side's receipt will take.

use assert_cmd::Command;
use keyexport_shared::canary::{CanaryReceipt, ExportedCanary, signed_message};
use keyexport_shared::files::{CeremonyId, KeyId};
use sandbox::{KeySpec, Sandbox, SandboxConfig};

#[test]
fn the_offline_signer_makes_receipts_that_verify_on_every_curve() {
    let binaries = sandbox::binaries::ensure_built(
        &["keyexport-offline"],
        sandbox::binaries::Build::IfOutdated,
    )
    .expect("the offline binary builds");
    let specs = [
        "CGGMP24:secp256k1",
        "FROST:ed25519",
        "CGGMP24:stark",
        "GLOW20_DH:secp256k1",
    ]
    .map(|s| KeySpec::new(s.parse().unwrap()));
    let sandbox = Sandbox::start(SandboxConfig::with_keys(specs.to_vec())).unwrap();
    let ceremony = CeremonyId::generate();
    for key in sandbox.keys() {
        let folder = tempfile::tempdir().unwrap();
        let key_file = folder.path().join("canary.hex");
        std::fs::write(
            &key_file,
            sandbox.private_key_hex(&key.id).unwrap().as_str(),
        )
        .unwrap();
        let key_id = KeyId::new(&key.id).unwrap();
        let public_key = keyexport_shared::curve::PublicKey::from_bytes(
            key.scheme.curve,
            &hex::decode(&key.public_key).unwrap(),
        )
        .unwrap();
        let signature_scheme =
            keyexport_shared::canary::ReceiptSignature::for_curve(key.scheme.curve);
        let message = signed_message(&ceremony, &key_id, key.scheme.curve);
        let output = Command::new(&binaries[0])
            .args(["sign", "--allow-online", "--blind", "--yes", "--json"])
            .arg("--scheme")
            .arg(signature_scheme.as_str())
            .arg("--key")
            .arg(&key_file)
            .args([
                "--public-key",
                &key.public_key,
                "--message-hex",
                &hex::encode(message),
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            key.scheme,
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let signature: [u8; 64] = hex::decode(printed["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let receipt = CanaryReceipt::create(
            ceremony.clone(),
            key_id.clone(),
            key.scheme.protocol,
            public_key.clone(),
            |scheme, signed| {
                assert_eq!((scheme, *signed), (signature_scheme, message));
                Ok::<_, String>(signature)
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", key.scheme));
        let scanned = CanaryReceipt::parse(&receipt.to_bytes()).unwrap();
        scanned
            .verify(&ExportedCanary {
                ceremony_id: ceremony.clone(),
                canary_key_id: key_id,
                public_key,
            })
            .unwrap_or_else(|e| panic!("{}: {e}", key.scheme));
    }
}
