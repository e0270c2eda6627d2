//! Scalar fields and public keys of the three curves Dfns exports (spec §5).
//!
//! Reconstruction is generic over [`CurveOps`]: one implementation per curve, each a thin
//! layer over a maintained crate (k256, curve25519-dalek, stark-curve). Scalars cross this
//! module as 32-byte **big-endian** arrays for every curve, ed25519 included (spec §4).

use std::fmt;

use ff::Field;
use zeroize::{Zeroize, Zeroizing};

use crate::scheme::Curve;
use crate::{Error, Result};

/// One curve's scalar field and generator, as reconstruction needs them.
pub(crate) trait CurveOps {
    /// An element of the scalar field.
    type Scalar: Field + Zeroize + From<u64>;

    /// The canonical scalar for these big-endian bytes, or `None` if they are not below
    /// the group order.
    fn scalar_from_be(bytes: &[u8; 32]) -> Option<Self::Scalar>;

    /// The big-endian bytes of a scalar.
    fn scalar_to_be(scalar: &Self::Scalar) -> Zeroizing<[u8; 32]>;

    /// `scalar·G` in the curve's standard encoding; `compressed` chooses the secp256k1
    /// form and is ignored by the other curves, which have one form.
    fn public_key_bytes(scalar: &Self::Scalar, compressed: bool) -> Vec<u8>;
}

/// secp256k1 through k256.
pub(crate) struct Secp256k1;
/// Edwards25519 through curve25519-dalek.
pub(crate) struct Ed25519;
/// The Starknet curve through stark-curve.
pub(crate) struct Stark;

impl CurveOps for Secp256k1 {
    type Scalar = k256::Scalar;

    fn scalar_from_be(bytes: &[u8; 32]) -> Option<k256::Scalar> {
        use k256::elliptic_curve::PrimeField;
        Option::from(k256::Scalar::from_repr((*bytes).into()))
    }

    fn scalar_to_be(scalar: &k256::Scalar) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(scalar.to_bytes().into())
    }

    fn public_key_bytes(scalar: &k256::Scalar, compressed: bool) -> Vec<u8> {
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        let point = (k256::ProjectivePoint::GENERATOR * scalar).to_affine();
        point.to_encoded_point(compressed).as_bytes().to_vec()
    }
}

impl CurveOps for Ed25519 {
    type Scalar = curve25519_dalek::Scalar;

    fn scalar_from_be(bytes: &[u8; 32]) -> Option<curve25519_dalek::Scalar> {
        let mut le = Zeroizing::new(*bytes);
        le.reverse();
        Option::from(curve25519_dalek::Scalar::from_canonical_bytes(*le))
    }

    fn scalar_to_be(scalar: &curve25519_dalek::Scalar) -> Zeroizing<[u8; 32]> {
        let mut be = Zeroizing::new(scalar.to_bytes());
        be.reverse();
        be
    }

    fn public_key_bytes(scalar: &curve25519_dalek::Scalar, _compressed: bool) -> Vec<u8> {
        curve25519_dalek::EdwardsPoint::mul_base(scalar)
            .compress()
            .to_bytes()
            .to_vec()
    }
}

impl CurveOps for Stark {
    type Scalar = stark_curve::Scalar;

    fn scalar_from_be(bytes: &[u8; 32]) -> Option<stark_curve::Scalar> {
        Option::from(stark_curve::Scalar::from_be_bytes((*bytes).into()))
    }

    fn scalar_to_be(scalar: &stark_curve::Scalar) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(scalar.to_be_bytes().into())
    }

    fn public_key_bytes(scalar: &stark_curve::Scalar, _compressed: bool) -> Vec<u8> {
        use stark_curve::elliptic_curve::group::GroupEncoding;
        let point = stark_curve::ProjectivePoint::GENERATOR * scalar;
        point.to_bytes().to_vec()
    }
}

/// A verified-format public key of one curve (spec §5, `publicKey` encodings):
/// secp256k1 33-byte compressed or 65-byte uncompressed, ed25519 32 bytes, stark
/// 33-byte compressed. Each is checked to be a point on its curve.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    curve: Curve,
    bytes: Vec<u8>,
}

impl PublicKey {
    /// Parses and validates the encoding of a public key on `curve`.
    pub fn from_bytes(curve: Curve, bytes: &[u8]) -> std::result::Result<PublicKey, String> {
        let valid = match curve {
            Curve::Secp256k1 => match bytes.len() {
                33 | 65 => k256::PublicKey::from_sec1_bytes(bytes).is_ok(),
                n => {
                    return Err(format!(
                        "{n} bytes; a secp256k1 key has 33 (compressed) or 65 (uncompressed)"
                    ));
                }
            },
            Curve::Ed25519 => {
                let array: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| format!("{} bytes; an ed25519 key has 32", bytes.len()))?;
                curve25519_dalek::edwards::CompressedEdwardsY(array)
                    .decompress()
                    .is_some()
            }
            Curve::Stark => {
                let array: [u8; 33] = bytes.try_into().map_err(|_| {
                    format!("{} bytes; a stark key has 33 (compressed)", bytes.len())
                })?;
                match array {
                    [0x02 | 0x03, x @ ..] => stark_x_on_curve(&x),
                    _ => false,
                }
            }
        };
        if valid {
            Ok(PublicKey {
                curve,
                bytes: bytes.to_vec(),
            })
        } else {
            Err(format!("not a point on {curve}"))
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The encoding as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// The 33-byte compressed form for secp256k1 (whatever form was received).
    pub fn secp256k1_compressed(&self) -> Option<[u8; 33]> {
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        if self.curve != Curve::Secp256k1 {
            return None;
        }
        let key = k256::PublicKey::from_sec1_bytes(&self.bytes).ok()?;
        key.to_encoded_point(true).as_bytes().try_into().ok()
    }

    /// Whether `scalar·G` equals this key, in this key's encoding.
    pub(crate) fn is_generated_by<C: CurveOps>(&self, scalar: &C::Scalar) -> bool {
        use subtle::ConstantTimeEq;
        let derived = C::public_key_bytes(scalar, self.bytes.len() == 33);
        derived.len() == self.bytes.len() && bool::from(derived.ct_eq(&self.bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {})", self.curve, self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// `(p − 1) / 2` for the stark field prime `p = 2^251 + 17·2^192 + 1`, as little-endian
/// 64-bit limbs (the exponent of Euler's criterion).
const STARK_HALF_P_MINUS_1: [u64; 4] = [0, 0, 1 << 63, (1 << 58) | (1 << 3)];

/// Whether `x` (big-endian) is the x coordinate of a point of the stark curve, i.e. below
/// `p` with `x³ + αx + β` a nonzero square (Euler's criterion). Each such x has exactly
/// one point of each y parity (the curve has prime order, so no point has y = 0), so this
/// accepts exactly the compressed encodings that decompressing the point accepts
/// (`AffinePoint::from_bytes`, checked in the tests), without its square root: the stark
/// field's 2-adicity is 192, so that constant-time Tonelli–Shanks costs tens of thousands
/// of squarings and was most of a batch reconstruction's CPU time. Public data only, so
/// the variable-time power is fine.
fn stark_x_on_curve(x: &[u8; 32]) -> bool {
    use stark_curve::FieldElement;
    use stark_curve::constants::{EQUATION_A, EQUATION_B};
    let Some(x) = Option::<FieldElement>::from(FieldElement::from_be_bytes((*x).into())) else {
        return false;
    };
    let rhs = x.square() * x + EQUATION_A * x + EQUATION_B;
    rhs.pow_vartime(STARK_HALF_P_MINUS_1) == FieldElement::ONE
}

/// The rebuilt private key: a raw scalar of its curve, 32 bytes big-endian.
///
/// For ed25519 this is the *expanded* secret scalar, not an RFC 8032 seed (spec §5).
/// Only [`crate::reconstruct`] creates one, after checking it against the public key.
/// Wiped on drop; `Debug` prints the curve only.
#[derive(Clone)]
pub struct PrivateKey {
    curve: Curve,
    scalar: Zeroizing<[u8; 32]>,
}

impl PrivateKey {
    pub(crate) fn new(curve: Curve, scalar: Zeroizing<[u8; 32]>) -> PrivateKey {
        PrivateKey { curve, scalar }
    }

    /// Parses a big-endian scalar of `curve` and checks it generates `public_key`.
    /// Used to load a key written earlier (`reconstruct --out`) for signing.
    pub fn from_be_bytes_verified(public_key: &PublicKey, bytes: &[u8; 32]) -> Result<PrivateKey> {
        let curve = public_key.curve();
        let matches = match curve {
            Curve::Secp256k1 => check::<Secp256k1>(public_key, bytes),
            Curve::Ed25519 => check::<Ed25519>(public_key, bytes),
            Curve::Stark => check::<Stark>(public_key, bytes),
        };
        if matches {
            Ok(PrivateKey::new(curve, Zeroizing::new(*bytes)))
        } else {
            Err(Error::PublicKey {
                public_key: public_key.to_hex(),
                suspects: Vec::new(),
            })
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The scalar, 32 bytes big-endian.
    pub fn to_be_bytes(&self) -> &[u8; 32] {
        &self.scalar
    }

    /// The scalar as 64 lowercase hex characters, in memory that is wiped after use.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.scalar.as_slice()))
    }
}

fn check<C: CurveOps>(public_key: &PublicKey, bytes: &[u8; 32]) -> bool {
    match C::scalar_from_be(bytes) {
        Some(mut scalar) => {
            let ok = !bool::from(scalar.is_zero()) && public_key.is_generated_by::<C>(&scalar);
            scalar.zeroize();
            ok
        }
        None => false,
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <secret>)", self.curve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_big_endian_on_every_curve() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(
            *Secp256k1::scalar_to_be(&Secp256k1::scalar_from_be(&one).unwrap()),
            one
        );
        assert_eq!(
            *Ed25519::scalar_to_be(&Ed25519::scalar_from_be(&one).unwrap()),
            one
        );
        assert_eq!(
            *Stark::scalar_to_be(&Stark::scalar_from_be(&one).unwrap()),
            one
        );
    }

    #[test]
    fn scalars_at_or_above_the_order_are_refused() {
        let secp_n =
            hex::decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
                .unwrap();
        let stark_n =
            hex::decode("0800000000000010FFFFFFFFFFFFFFFFB781126DCAE7B2321E66A241ADC64D2F")
                .unwrap();
        let ed_n = hex::decode("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed")
            .unwrap();
        assert!(Secp256k1::scalar_from_be(&secp_n.try_into().unwrap()).is_none());
        assert!(Stark::scalar_from_be(&stark_n.try_into().unwrap()).is_none());
        assert!(Ed25519::scalar_from_be(&ed_n.try_into().unwrap()).is_none());
    }

    #[test]
    fn public_key_encodings_are_validated() {
        assert!(PublicKey::from_bytes(Curve::Secp256k1, &[2u8; 32]).is_err());
        assert!(PublicKey::from_bytes(Curve::Ed25519, &[0u8; 33]).is_err());
        assert!(PublicKey::from_bytes(Curve::Stark, &[9u8; 33]).is_err());
    }

    #[test]
    fn stark_euler_exponent_is_half_of_p_minus_one() {
        use stark_curve::FieldElement;
        use stark_curve::ff::PrimeField;
        let p = FieldElement::MODULUS.trim_start_matches("0x");
        let p: Vec<u64> = (0..4)
            .map(|i| {
                let end = p.len() - 16 * i;
                u64::from_str_radix(&p[end.saturating_sub(16)..end], 16).unwrap()
            })
            .collect();
        // 2·e + 1 == p, limb by limb (p is odd and e's top bit leaves room for the shift).
        let e = STARK_HALF_P_MINUS_1;
        let doubled = [
            (e[0] << 1) | 1,
            (e[1] << 1) | (e[0] >> 63),
            (e[2] << 1) | (e[1] >> 63),
            (e[3] << 1) | (e[2] >> 63),
        ];
        assert_eq!(doubled.as_slice(), p.as_slice());
    }

    proptest::proptest! {
        /// The stark check accepts exactly what decompressing the point accepts.
        #[test]
        fn stark_check_agrees_with_decompression(
            x in proptest::array::uniform32(proptest::prelude::any::<u8>()),
            odd in proptest::prelude::any::<bool>(),
            top in 0u8..0x10,
        ) {
            use stark_curve::elliptic_curve::group::GroupEncoding;
            let mut encoded = [0u8; 33];
            encoded[0] = if odd { 0x03 } else { 0x02 };
            encoded[1..].copy_from_slice(&x);
            // Mostly below p (which starts 0x08), sometimes above.
            encoded[1] = top;
            let decompresses =
                bool::from(stark_curve::AffinePoint::from_bytes(&encoded.into()).is_some());
            proptest::prop_assert_eq!(
                PublicKey::from_bytes(Curve::Stark, &encoded).is_ok(),
                decompresses
            );
        }
    }

    #[test]
    fn stark_points_of_real_keys_are_accepted() {
        use stark_curve::elliptic_curve::group::GroupEncoding;
        for k in 1u64..20 {
            let point = stark_curve::ProjectivePoint::GENERATOR * stark_curve::Scalar::from(k);
            let bytes = point.to_bytes();
            assert!(PublicKey::from_bytes(Curve::Stark, &bytes).is_ok(), "{k}·G");
        }
        let mut bad = [0u8; 33];
        bad[0] = 0x04;
        assert!(PublicKey::from_bytes(Curve::Stark, &bad).is_err());
        assert!(PublicKey::from_bytes(Curve::Stark, &[0x02; 32]).is_err());
        assert!(PublicKey::from_bytes(Curve::Stark, &[]).is_err());
    }

    #[test]
    fn private_key_debug_is_redacted() {
        let key = PrivateKey::new(Curve::Stark, Zeroizing::new([0xab; 32]));
        assert!(!format!("{key:?}").contains("ab"));
    }
}
