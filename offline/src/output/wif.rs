//! Wallet Import Format for secp256k1 private keys (Bitcoin): compressed-key WIF.
//!
//! `base58(version || key(32, big-endian) || 0x01 || checksum)`, where version is 0x80 on
//! mainnet and 0xef on testnet/signet/regtest, `0x01` marks a compressed public key (what
//! P2WPKH and P2TR use) and the checksum is the first four bytes of double SHA-256.
//! Every buffer holding the key is zeroized.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::cli::Network;

const MAINNET: u8 = 0x80;
const TESTNET: u8 = 0xef;
const COMPRESSED: u8 = 0x01;
/// version + key + compression flag + checksum.
const RAW_LEN: usize = 1 + 32 + 1 + 4;

/// Encodes `key` (big-endian scalar) as compressed WIF for `network`.
pub fn encode(key: &[u8; 32], network: Network) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    raw[0] = match network {
        Network::Mainnet => MAINNET,
        Network::Testnet => TESTNET,
    };
    raw[1..33].copy_from_slice(key);
    raw[33] = COMPRESSED;
    let checksum = Sha256::digest(Sha256::digest(&raw[..34]));
    raw[34..].copy_from_slice(&checksum[..4]);
    // 38 bytes never need more than 52 base58 digits; encode into a fixed zeroized buffer so
    // no growing String leaves copies behind.
    let mut text = Zeroizing::new([0u8; 64]);
    let len = bs58::encode(&raw[..])
        .onto(&mut text[..])
        .expect("38 bytes fit in 64 base58 digits");
    let mut out = Zeroizing::new(String::with_capacity(len));
    out.push_str(std::str::from_utf8(&text[..len]).expect("base58 output is ASCII"));
    out
}

/// Decodes a compressed WIF (`sign --key` reads WIF key files; the tests check round trips).
pub fn decode(wif: &str) -> Option<(Zeroizing<[u8; 32]>, Network)> {
    let raw = Zeroizing::new(bs58::decode(wif).into_vec().ok()?);
    if raw.len() != RAW_LEN || raw[33] != COMPRESSED {
        return None;
    }
    let checksum = Sha256::digest(Sha256::digest(&raw[..34]));
    if checksum[..4] != raw[34..] {
        return None;
    }
    let network = match raw[0] {
        MAINNET => Network::Mainnet,
        TESTNET => Network::Testnet,
        _ => return None,
    };
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw[1..33]);
    Some((key, network))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Published vector (Bitcoin wiki "Wallet import format", compressed variant of the
    /// key 0C28FCA3…BD25B1D, and the well-known WIF of private key 1).
    #[test]
    fn published_vectors() {
        let key: [u8; 32] =
            hex::decode("0C28FCA386C7A227600B2FE50B7CAE11EC86D3BF1FBE471BE89827E19D72AA1D")
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(
            encode(&key, Network::Mainnet).as_str(),
            "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"
        );
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(
            encode(&one, Network::Mainnet).as_str(),
            "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn"
        );
        assert_eq!(
            encode(&one, Network::Testnet).as_str(),
            "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA"
        );
    }

    #[test]
    fn bitcoin_crate_agrees() {
        let key = [0x42u8; 32];
        let theirs = bitcoin::PrivateKey::from_slice(&key, bitcoin::Network::Testnet)
            .unwrap()
            .to_wif();
        assert_eq!(encode(&key, Network::Testnet).as_str(), theirs);
    }

    proptest! {
        #[test]
        fn round_trip(key in proptest::array::uniform32(any::<u8>()), testnet in any::<bool>()) {
            let network = if testnet { Network::Testnet } else { Network::Mainnet };
            let wif = encode(&key, network);
            let (back, net) = decode(&wif).unwrap();
            prop_assert_eq!(*back, key);
            prop_assert_eq!(net, network);
        }
    }
}
