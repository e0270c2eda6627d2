//! Dfns signing protocols and curves (spec §1 and §6).
//!
//! The share arithmetic is the same for every protocol, so a [`Scheme`] only matters
//! for two things: the request lists the schemes to export ([`Scheme::ISSUED`] unless
//! the operator names others), and a response whose protocol or curve is unknown must be
//! refused, never guessed at.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// An MPC protocol name as Dfns spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// CGGMP24 threshold ECDSA.
    #[serde(rename = "CGGMP24")]
    Cggmp24,
    /// FROST threshold Schnorr / EdDSA.
    #[serde(rename = "FROST")]
    Frost,
    /// FROST with BIP-340 (Taproot) tweaks.
    #[serde(rename = "FROST_BITCOIN")]
    FrostBitcoin,
    /// GLOW20 threshold Diffie–Hellman.
    #[serde(rename = "GLOW20_DH")]
    Glow20Dh,
    /// KU23 threshold ECDSA.
    #[serde(rename = "KU23")]
    Ku23,
    /// CGGMP21 threshold ECDSA.
    #[serde(rename = "CGGMP21")]
    Cggmp21,
}

impl Protocol {
    /// Every protocol in the spec, in its order.
    pub const ALL: [Protocol; 6] = [
        Protocol::Cggmp24,
        Protocol::Frost,
        Protocol::FrostBitcoin,
        Protocol::Glow20Dh,
        Protocol::Ku23,
        Protocol::Cggmp21,
    ];

    /// The name Dfns uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Cggmp24 => "CGGMP24",
            Protocol::Frost => "FROST",
            Protocol::FrostBitcoin => "FROST_BITCOIN",
            Protocol::Glow20Dh => "GLOW20_DH",
            Protocol::Ku23 => "KU23",
            Protocol::Cggmp21 => "CGGMP21",
        }
    }
}

impl FromStr for Protocol {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::Unsupported {
                what: format!("protocol {s:?}"),
            })
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An elliptic curve as Dfns spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Curve {
    /// secp256k1 (Bitcoin, Ethereum).
    Secp256k1,
    /// Edwards25519 (Solana and other EdDSA chains).
    Ed25519,
    /// The Starknet curve.
    Stark,
}

impl Curve {
    /// Every curve in the spec, in its order.
    pub const ALL: [Curve; 3] = [Curve::Ed25519, Curve::Secp256k1, Curve::Stark];

    /// The name Dfns uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::Secp256k1 => "secp256k1",
            Curve::Ed25519 => "ed25519",
            Curve::Stark => "stark",
        }
    }
}

impl FromStr for Curve {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Curve::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Error::Unsupported {
                what: format!("curve {s:?}"),
            })
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `{protocol, curve}` pair of a request's `supportedSchemes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// The MPC protocol.
    pub protocol: Protocol,
    /// The curve.
    pub curve: Curve,
}

impl Scheme {
    /// The 9 protocol/curve pairs Dfns issues keys for (spec §1): ECDSA on secp256k1 and
    /// stark (CGGMP24, CGGMP21, KU23), EdDSA on ed25519 (FROST), Schnorr on secp256k1
    /// (FROST_BITCOIN), DH on secp256k1 (GLOW20_DH). A request lists these by default,
    /// and a sandbox holds one key of each by default; pairs such as `CGGMP24:ed25519`
    /// do not exist at Dfns, so they are sent only when the operator asks for them.
    pub const ISSUED: [Scheme; 9] = [
        Scheme::new(Protocol::Cggmp24, Curve::Secp256k1),
        Scheme::new(Protocol::Cggmp24, Curve::Stark),
        Scheme::new(Protocol::Cggmp21, Curve::Secp256k1),
        Scheme::new(Protocol::Cggmp21, Curve::Stark),
        Scheme::new(Protocol::Ku23, Curve::Secp256k1),
        Scheme::new(Protocol::Ku23, Curve::Stark),
        Scheme::new(Protocol::Frost, Curve::Ed25519),
        Scheme::new(Protocol::FrostBitcoin, Curve::Secp256k1),
        Scheme::new(Protocol::Glow20Dh, Curve::Secp256k1),
    ];

    /// The pair `protocol` on `curve`.
    pub const fn new(protocol: Protocol, curve: Curve) -> Scheme {
        Scheme { protocol, curve }
    }

    /// Every protocol × curve combination the spec's names allow (18), issued by Dfns
    /// or not: the offline side rebuilds any of them that a response names.
    pub fn all() -> Vec<Scheme> {
        Protocol::ALL
            .into_iter()
            .flat_map(|protocol| {
                Curve::ALL
                    .into_iter()
                    .map(move |curve| Scheme { protocol, curve })
            })
            .collect()
    }
}

/// Parses `PROTOCOL:CURVE`, e.g. `CGGMP24:secp256k1`.
impl FromStr for Scheme {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (protocol, curve) = s.split_once(':').ok_or_else(|| Error::Unsupported {
            what: format!("scheme {s:?} (expected PROTOCOL:CURVE, e.g. CGGMP24:secp256k1)"),
        })?;
        Ok(Scheme {
            protocol: protocol.parse()?,
            curve: curve.parse()?,
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.protocol, self.curve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_schemes_round_trip_through_text() {
        let all = Scheme::all();
        assert_eq!(all.len(), 18);
        for scheme in all {
            assert_eq!(scheme.to_string().parse::<Scheme>().unwrap(), scheme);
            let json = serde_json::to_string(&scheme).unwrap();
            assert_eq!(serde_json::from_str::<Scheme>(&json).unwrap(), scheme);
        }
    }

    #[test]
    fn issued_schemes_are_the_nine_pairs_dfns_issues() {
        let issued: Vec<String> = Scheme::ISSUED.iter().map(ToString::to_string).collect();
        assert_eq!(
            issued,
            [
                "CGGMP24:secp256k1",
                "CGGMP24:stark",
                "CGGMP21:secp256k1",
                "CGGMP21:stark",
                "KU23:secp256k1",
                "KU23:stark",
                "FROST:ed25519",
                "FROST_BITCOIN:secp256k1",
                "GLOW20_DH:secp256k1",
            ]
        );
        let all = Scheme::all();
        assert!(Scheme::ISSUED.iter().all(|s| all.contains(s)));
        for absent in [
            "CGGMP24:ed25519",
            "FROST:stark",
            "FROST:secp256k1",
            "KU23:ed25519",
        ] {
            let scheme: Scheme = absent.parse().unwrap();
            assert!(!Scheme::ISSUED.contains(&scheme), "{absent}");
        }
    }

    #[test]
    fn unknown_names_are_unsupported() {
        assert_eq!(
            "GG18".parse::<Protocol>().unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
        assert_eq!(
            "p256".parse::<Curve>().unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
        assert_eq!(
            "CGGMP24".parse::<Scheme>().unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
    }
}
