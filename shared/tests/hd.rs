//! HD derivation against independent references.
//!
//! - secp256k1: the `bitcoin` crate's `bip32` (rust-bitcoin over libsecp256k1), for the
//!   `xpub`/`xprv`/`tpub`/`tprv` serializations and derived children, hardened or not.
//! - ed25519 and stark: the test vectors published with the `hd-wallet` crate 0.7.0
//!   (`tests/edwards_test_vector.rs`, obtained there from another Edwards implementation,
//!   and `tests/stark_test_vector.rs`), copied here with their paths. They check what this
//!   library adds around `hd-wallet`: big-endian scalars in and out, path parsing and the
//!   public key encodings of each curve.

use std::str::FromStr;

use bitcoin::NetworkKind;
use bitcoin::bip32::{ChainCode, ChildNumber, DerivationPath as BtcPath, Fingerprint, Xpriv, Xpub};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use keyexport_shared::chain_code::ChainCode as RootChainCode;
use keyexport_shared::curve::{PrivateKey, PublicKey};
use keyexport_shared::hd::{DerivationPath, Network, derive, xprv, xpub};
use keyexport_shared::scheme::Curve;
use proptest::prelude::*;

fn secp_root(secret: &[u8; 32]) -> (PrivateKey, PublicKey) {
    let sk = k256::SecretKey::from_slice(secret).unwrap();
    let point =
        k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&sk.public_key(), false);
    let public = PublicKey::from_bytes(Curve::Secp256k1, point.as_bytes()).unwrap();
    let private = PrivateKey::from_be_bytes_verified(&public, secret).unwrap();
    (private, public)
}

fn bitcoin_root(secret: &[u8; 32], chain_code: &[u8; 32], network: NetworkKind) -> Xpriv {
    Xpriv {
        network,
        depth: 0,
        parent_fingerprint: Fingerprint::default(),
        child_number: ChildNumber::from_normal_idx(0).unwrap(),
        private_key: SecretKey::from_slice(secret).unwrap(),
        chain_code: ChainCode::from(*chain_code),
    }
}

/// A path of 1 to 4 levels, each hardened or not, in either hardened notation.
fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec((0u32..(1 << 31), any::<bool>(), any::<bool>()), 1..5).prop_map(
        |levels| {
            let mut text = String::from("m");
            for (index, hardened, apostrophe) in levels {
                let mark = match (hardened, apostrophe) {
                    (false, _) => "",
                    (true, true) => "'",
                    (true, false) => "h",
                };
                text.push_str(&format!("/{index}{mark}"));
            }
            text
        },
    )
}

fn secp_secret() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>().prop_filter("a valid secp256k1 scalar", |s| {
        k256::SecretKey::from_slice(s).is_ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn secp256k1_extended_keys_agree_with_rust_bitcoin(
        secret in secp_secret(),
        chain_code in any::<[u8; 32]>(),
        testnet in any::<bool>(),
    ) {
        let (private, public) = secp_root(&secret);
        let code = RootChainCode::from_bytes(chain_code);
        let (network, kind) = if testnet {
            (Network::Testnet, NetworkKind::Test)
        } else {
            (Network::Mainnet, NetworkKind::Main)
        };
        let reference = bitcoin_root(&secret, &chain_code, kind);
        let reference_pub = Xpub::from_priv(&Secp256k1::new(), &reference);
        let ours_prv = xprv(&private, &code, network).unwrap();
        let ours_pub = xpub(&public, &code, network).unwrap();
        prop_assert_eq!(ours_prv.as_str(), reference.to_string());
        prop_assert_eq!(&ours_pub, &reference_pub.to_string());
        let prefix = if testnet { "tpub" } else { "xpub" };
        prop_assert!(ours_pub.starts_with(prefix), "{}", ours_pub);
        // And rust-bitcoin reads ours back to the same key.
        prop_assert_eq!(Xpriv::from_str(&ours_prv).unwrap(), reference);
    }

    #[test]
    fn secp256k1_children_agree_with_rust_bitcoin(
        secret in secp_secret(),
        chain_code in any::<[u8; 32]>(),
        path in path_strategy(),
    ) {
        let (private, _) = secp_root(&secret);
        let ours = derive(&private, &RootChainCode::from_bytes(chain_code), &path.parse().unwrap()).unwrap();
        let secp = Secp256k1::new();
        let reference = bitcoin_root(&secret, &chain_code, NetworkKind::Main)
            .derive_priv(&secp, &BtcPath::from_str(&path).unwrap())
            .unwrap();
        prop_assert_eq!(
            hex::encode(ours.private_key.to_be_bytes()),
            hex::encode(reference.private_key.secret_bytes())
        );
        prop_assert_eq!(
            ours.public_key.to_hex(),
            hex::encode(reference.private_key.public_key(&secp).serialize())
        );
        prop_assert_eq!(ours.path.to_string(), path.replace('h', "'"));
    }
}

/// BIP-32 test vector 1 (seed 000102…0f): its master key's xprv/xpub, and `m/0'/1`.
#[test]
fn bip32_test_vector_1() {
    let secret: [u8; 32] =
        hex::decode("e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35")
            .unwrap()
            .try_into()
            .unwrap();
    let chain_code: [u8; 32] =
        hex::decode("873dff81c02f525623fd1fe5167eac3a55a049de3d314bb42ee227ffed37d508")
            .unwrap()
            .try_into()
            .unwrap();
    let (private, public) = secp_root(&secret);
    let code = RootChainCode::from_bytes(chain_code);
    assert_eq!(
        xprv(&private, &code, Network::Mainnet).unwrap().as_str(),
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
    );
    assert_eq!(
        xpub(&public, &code, Network::Mainnet).unwrap(),
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8"
    );
    let child = derive(&private, &code, &"m/0h/1".parse().unwrap()).unwrap();
    assert_eq!(
        child.public_key.to_hex(),
        "03501e454bf00751f24b1b489aa925215d66af2234e3891c3b21a52bedb3cd711c"
    );
}

struct Vector {
    root_secret: &'static str,
    root_public: &'static str,
    chain_code: &'static str,
    derivations: &'static [(&'static [u32], &'static str, &'static str)],
}

const H: u32 = 1 << 31;

/// From `hd-wallet` 0.7.0 `tests/edwards_test_vector.rs`: (path, child secret, child public).
const EDWARDS: Vector = Vector {
    root_secret: "09ba1ad29fabe87a0cf23fec142db2adfb8f9e7089928000dcba5714e08236ec",
    root_public: "6fa093b0e855f5fdb40d77f6efe9b67b709092a71d73f35de6afc70cac40d57a",
    chain_code: "64ae4b48b206ef11f75059af10d209546586baf8418222c6f4b989b75d008ddd",
    derivations: &[
        (
            &[0],
            "0542fcce4962a2e1785bc9d183e6d80f754d7ad70251b7d9239b434bc6b117d4",
            "4fefbecb1d4a584b289e457ffe868d87b27ab421f66e32a078616552a837c7e2",
        ),
        (
            &[2],
            "0b68998b58f5b96ec64b754d421339869a439c6249b843e78610c675d51f01f9",
            "d634d478dfb41b9bc8cc6653febd00f89bf5bf8c6f665dbdf541a203abef0882",
        ),
        (
            &[1245290303, 456055179, 1419108629, 261968456],
            "089f32db21f3027a39ee9a6bebae1ffa0bd07527120f5fe943a7d6363bd90ff6",
            "4671c7c639c8421d16488a59618bc4d06dbae56741df740eea6be993eb99f734",
        ),
        (
            &[1 + H],
            "06928b571aa8659d2976ab000e27f962b62b9d4e61ce6ab76380bd5f9ab6b1f9",
            "97d28095b4cc43ef45eb10da1b5c01ff85a0695472252f218c93f21a3ebe8a42",
        ),
        (
            &[2805853951, 2012627329, 3396580781, 1663824773],
            "0f0e4dfa88132151409f014584d112152dbd78c238afc1fa095cc852c49ffd46",
            "51b8f57fa35e2d95ed518dc9c0defcc7268e600781cb5d65f20f1e2898c92905",
        ),
    ],
};

/// From `hd-wallet` 0.7.0 `tests/stark_test_vector.rs`: (path, child secret, child public).
const STARK: Vector = Vector {
    root_secret: "0488a73eebe871ec429b37cdbd1dc160d4d2faa34556c8e9a76e8cd51b6cfbb8",
    root_public: "0205c89b4a3d5f4650cd63a48baf0df21280ce0fb85ea872853de3ce18e1e61223",
    chain_code: "9e88c71e0435e16662469e464ba3bd242b4c99f6ff54960cb682edceb42223ed",
    derivations: &[
        (
            &[0],
            "0597872991a7759365513efb163a8c28b14f10b969f11da6fd3653f92e2d57ca",
            "030625a1ed01a061183d9b8bfc87ea6fa3a788195250516415ed6e196a070de55f",
        ),
        (
            &[1951614227, 785687956, 1701190516, 997951189],
            "07eddf7b3dec89605d3d15392d9ed3e985407775a58dbaea51ad55e415b45494",
            "030430e999917068df34f32c35beff2a1caf0d2cd4ed0defe666249d63e031379b",
        ),
        (
            &[H],
            "0075fc3585d3bedd04c7cd0d7fe871f3e52d5ab9c4bfcc6cc626957cbe45545c",
            "030789614405216d8cc36454c4108975c0d2d66035ecd6a2bd8c3dca628b3ab546",
        ),
    ],
};

fn path_text(levels: &[u32]) -> String {
    let mut text = String::from("m");
    for &level in levels {
        if level >= H {
            text.push_str(&format!("/{}h", level - H));
        } else {
            text.push_str(&format!("/{level}"));
        }
    }
    text
}

fn check_vector(curve: Curve, vector: &Vector) {
    let public = PublicKey::from_bytes(curve, &hex::decode(vector.root_public).unwrap()).unwrap();
    let secret: [u8; 32] = hex::decode(vector.root_secret).unwrap().try_into().unwrap();
    // The root public key of the vector is the one our curve code computes.
    let root = PrivateKey::from_be_bytes_verified(&public, &secret).unwrap();
    let code =
        RootChainCode::from_bytes(hex::decode(vector.chain_code).unwrap().try_into().unwrap());
    for (levels, child_secret, child_public) in vector.derivations {
        let path: DerivationPath = path_text(levels).parse().unwrap();
        let child = derive(&root, &code, &path).unwrap();
        assert_eq!(
            hex::encode(child.private_key.to_be_bytes()),
            *child_secret,
            "{path}"
        );
        assert_eq!(child.public_key.to_hex(), *child_public, "{path}");
        // The child pair is consistent under this library's own check.
        PrivateKey::from_be_bytes_verified(&child.public_key, child.private_key.to_be_bytes())
            .unwrap();
    }
}

#[test]
fn ed25519_agrees_with_hd_wallet_edwards_vectors() {
    check_vector(Curve::Ed25519, &EDWARDS);
}

#[test]
fn stark_agrees_with_hd_wallet_stark_vectors() {
    check_vector(Curve::Stark, &STARK);
}
