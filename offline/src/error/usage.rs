//! Arguments that parse but cannot be honoured together, or with these inputs:
//! [`UsageError`] holds the flags and values concerned, its message and advice are
//! written here once.

use std::path::PathBuf;

/// Why the arguments cannot be honoured (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// clap's own diagnostic (an unknown flag, a missing value), for `--json`.
    #[error("{0}")]
    Parse(String),

    // Keys and their sources.
    /// No decryption key given.
    #[error("--decryption-key is required")]
    DecryptionKeyRequired,
    /// Several passphrase files for one sealed key.
    #[error("--passphrase-file is given more than once for one sealed decryption key")]
    PassphraseFileRepeated,
    /// Passphrase files that no passphrase-sealed part used.
    #[error(
        "{count} --passphrase-file left over: give one per passphrase-sealed part, in the order of the parts"
    )]
    PassphraseFilesLeftOver {
        /// How many were not used.
        count: usize,
    },
    /// `init`: several passphrase files without custodians.
    #[error("--passphrase-file is given more than once; repeat it only with --custodians")]
    InitPassphraseFileRepeated,
    /// A test override of the scrypt work factor out of range (debug builds only, like
    /// the override).
    #[cfg(debug_assertions)]
    #[error("{var} must be a number from 1 to {max}")]
    TestWorkFactor {
        /// The environment variable.
        var: &'static str,
        /// The highest accepted.
        max: u8,
    },

    // Key ids.
    /// A `--key-id` Dfns would not accept.
    #[error("--key-id {id}: {reason}")]
    KeyId {
        /// The value given.
        id: String,
        /// Why it is refused.
        reason: String,
    },
    /// The batch's key ids cannot be used together (a repeat).
    #[error("{reason}")]
    KeyIds {
        /// The library's diagnostic.
        reason: String,
    },

    // Custodians.
    /// A custodian label that cannot name a file.
    #[error(
        "--custodian-label {label:?}: a label is 1 to {max} letters, digits, '.', '_' or '-', not starting with '.' or '-' (it names the part's file)"
    )]
    CustodianLabel {
        /// The label given.
        label: String,
        /// The longest label.
        max: usize,
    },
    /// Quorum and custodians out of range.
    #[error("--custodians {custodians} --quorum {quorum}: need 2 ≤ quorum ≤ custodians ≤ {max}")]
    Quorum {
        /// Custodians given.
        custodians: u8,
        /// Quorum given.
        quorum: u8,
        /// The most custodians.
        max: u8,
    },
    /// More passphrase files than passphrase-sealed parts.
    #[error(
        "{given} --passphrase-file given, but only {needing} custodian(s) seal their part with a passphrase"
    )]
    CustodianPassphraseFiles {
        /// Files given.
        given: usize,
        /// Custodians sealing with a passphrase.
        needing: usize,
    },
    /// Not one label per custodian.
    #[error(
        "{given} --custodian-label given for --custodians {custodians}; give one per custodian, or none"
    )]
    CustodianLabelCount {
        /// Labels given.
        given: usize,
        /// Custodians.
        custodians: u8,
    },
    /// Two custodians with one label.
    #[error("--custodian-label {label} is given twice; labels must differ (ignoring case)")]
    CustodianLabelTwice {
        /// The label.
        label: String,
    },
    /// A `--custodian-recipient` without `LABEL=`.
    #[error("--custodian-recipient {value}: expected LABEL=age1…")]
    CustodianRecipientSyntax {
        /// The value given.
        value: String,
    },
    /// A `--custodian-recipient` for an unknown label.
    #[error("--custodian-recipient {value}: no custodian is labelled {label}")]
    CustodianRecipientLabel {
        /// The value given.
        value: String,
        /// The label it names.
        label: String,
    },
    /// A `--custodian-recipient` that is not an age recipient.
    #[error("--custodian-recipient {value}: not an age X25519 recipient ({reason})")]
    CustodianRecipientInvalid {
        /// The value given.
        value: String,
        /// age's diagnostic.
        reason: String,
    },
    /// Two recipients for one custodian.
    #[error("--custodian-recipient: custodian {label} is given two recipients")]
    CustodianRecipientTwice {
        /// The label.
        label: String,
    },

    // Outputs.
    /// An `--encrypt-to` that is not an age recipient.
    #[error("--encrypt-to {value}: not an age X25519 recipient ({reason})")]
    EncryptTo {
        /// The value given.
        value: String,
        /// age's diagnostic.
        reason: String,
    },
    /// A file where a folder of several outputs belongs.
    #[error("{flag} {}: {why}: give a new or empty folder", .dir.display())]
    FolderIsAFile {
        /// The flag.
        flag: String,
        /// The path given.
        dir: PathBuf,
        /// Why a folder is needed.
        why: String,
    },
    /// `--format xprv` cannot encode the key.
    #[error("--format xprv: {reason}")]
    Xprv {
        /// The encoder's diagnostic.
        reason: String,
    },
    /// A secp256k1-only format for a key on another curve.
    #[error("--format {format} holds secp256k1 keys only; this {} {curve}", if *.batch { "key is on" } else { "response is for" })]
    FormatNeedsSecp256k1 {
        /// The format.
        format: &'static str,
        /// The key's curve.
        curve: String,
        /// Whether the key is one of a batch.
        batch: bool,
    },
    /// `--format xprv` with `--derive`.
    #[error(
        "--format xprv writes the HD root only; write the --derive children with --format hex (or wif)"
    )]
    XprvWithDerive,

    // Reconstruct: canary and batch.
    /// `--destroy-decryption-key` on the canary's response.
    #[error(
        "--destroy-decryption-key is refused for the canary's response: the decryption key is still needed for the real key's export; destroy it after that one"
    )]
    DestroyOnCanary,
    /// `--reveal` for a batch.
    #[error("--reveal prints one key; for a batch use --out DIR (one file per key)")]
    RevealInBatch,
    /// `--derive` for a batch.
    #[error(
        "--derive works on one key at a time: run reconstruct with --derive on that key's response file (the batch reports each HD key's xpub and checks its wallets)"
    )]
    DeriveInBatch,
    /// A batch from standard input.
    #[error("a batch is read from response files or folders, not standard input")]
    BatchFromStdin,

    // Sign.
    /// Neither a scheme nor a transaction.
    #[error("give --scheme, or a transaction with --psbt, --eth-tx or --solana-tx")]
    NoScheme,
    /// A bare digest without `--blind`.
    #[error(
        "a bare digest or message is signed blind: this machine cannot see what it pays. Give the transaction instead (--psbt, --eth-tx, --solana-tx), or add --blind to sign the bytes as given after comparing them with the wallet that made them"
    )]
    NotBlind,
    /// Standard input named twice.
    #[error(
        "standard input cannot carry both the response (--response -) and the message (--message-ur -)"
    )]
    StdinTwice,
    /// No message source.
    #[error("give the message with --message-hex, --message-file, --message-qr or --message-ur")]
    NoMessage,
    /// No key to sign with.
    #[error("give the key with --decryption-key and --response, or with --key")]
    NoSigningKey,
    /// `--key` without a public key to check it against.
    #[error("--key needs the public key to check it against: give --response or --public-key")]
    KeyNeedsPublicKey,
    /// `--key` is age-encrypted and no identity was given.
    #[error("{label} is age-encrypted: give the identity that opens it with --identity FILE")]
    KeyNeedsIdentity {
        /// The key file.
        label: String,
    },
    /// `--public-key` is not hex.
    #[error("--public-key {text}: not hex ({reason})")]
    PublicKeyNotHex {
        /// The value given.
        text: String,
        /// The decoder's diagnostic.
        reason: String,
    },
    /// `--public-key` is not a key of the scheme's curve.
    #[error("--public-key {text}: not a {curve} public key ({reason})")]
    PublicKeyInvalid {
        /// The value given.
        text: String,
        /// The scheme's curve.
        curve: String,
        /// Why.
        reason: String,
    },
    /// A transaction flag for a key on another curve.
    #[error("{flag} signs with a secp256k1 key, but this key is on {curve}")]
    TransactionNeedsSecp256k1 {
        /// `--psbt` or `--eth-tx`.
        flag: &'static str,
        /// The key's curve.
        curve: String,
    },
    /// An Ethereum chain id too large for a legacy `v`.
    #[error("the chain id is too large for v")]
    ChainIdTooLarge,
    /// `--ur-out` for a transaction given as hex.
    #[error(
        "--ur-out writes the eth-signature answering a wallet's eth-sign-request QR code; this transaction came as hex: drop --ur-out (standard output is the signed transaction)"
    )]
    UrOutForHexTransaction,
    /// No terminal to confirm a transaction on, and no `--yes`.
    #[error(
        "no terminal to confirm the signature on, and no --yes: nothing was signed. Run sign in a terminal and type `sign` after checking the summary, or pass --yes in a script that has checked the transaction itself."
    )]
    NoTerminalToConfirm,
    /// The confirmation typed was not `sign`.
    #[error(
        "the confirmation typed is not `sign`: nothing was signed. Run sign again and type `sign` once the summary is what you meant to sign."
    )]
    NotConfirmed,
}

impl UsageError {
    /// What the operator should do next.
    pub fn advice(&self) -> &'static str {
        "See `keyexport-offline help`."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each, with the values a run would give it.
    fn every_usage_error() -> Vec<UsageError> {
        use UsageError::*;
        let s = |v: &str| v.to_owned();
        vec![
            Parse(s("unexpected argument '--frobnicate' found")),
            DecryptionKeyRequired,
            PassphraseFileRepeated,
            PassphraseFilesLeftOver { count: 1 },
            InitPassphraseFileRepeated,
            #[cfg(debug_assertions)]
            TestWorkFactor {
                var: "KEYEXPORT_TEST_SCRYPT_LOG_N",
                max: 22,
            },
            KeyId {
                id: s("nope"),
                reason: s("a key id starts with key-"),
            },
            KeyIds {
                reason: s("key id key-01 is given twice"),
            },
            CustodianLabel {
                label: s(".hidden"),
                max: 32,
            },
            Quorum {
                custodians: 3,
                quorum: 4,
                max: 16,
            },
            CustodianPassphraseFiles {
                given: 3,
                needing: 2,
            },
            CustodianLabelCount {
                given: 2,
                custodians: 3,
            },
            CustodianLabelTwice { label: s("alice") },
            CustodianRecipientSyntax { value: s("age1x") },
            CustodianRecipientLabel {
                value: s("zed=age1x"),
                label: s("zed"),
            },
            CustodianRecipientInvalid {
                value: s("bob=age1x"),
                reason: s("invalid Bech32"),
            },
            CustodianRecipientTwice { label: s("bob") },
            EncryptTo {
                value: s("age1x"),
                reason: s("invalid Bech32"),
            },
            FolderIsAFile {
                flag: s("--out"),
                dir: PathBuf::from("keys"),
                why: s("a batch writes one file per key"),
            },
            Xprv {
                reason: s("invalid key"),
            },
            FormatNeedsSecp256k1 {
                format: "wif",
                curve: s("ed25519"),
                batch: false,
            },
            FormatNeedsSecp256k1 {
                format: "wif",
                curve: s("ed25519"),
                batch: true,
            },
            XprvWithDerive,
            DestroyOnCanary,
            RevealInBatch,
            DeriveInBatch,
            BatchFromStdin,
            NoScheme,
            NotBlind,
            StdinTwice,
            NoMessage,
            NoSigningKey,
            KeyNeedsPublicKey,
            KeyNeedsIdentity {
                label: s("key.age"),
            },
            PublicKeyNotHex {
                text: s("zz"),
                reason: s("Invalid character 'z' at position 0"),
            },
            PublicKeyInvalid {
                text: s("02"),
                curve: s("secp256k1"),
                reason: s("33 bytes expected"),
            },
            TransactionNeedsSecp256k1 {
                flag: "--psbt",
                curve: s("ed25519"),
            },
            ChainIdTooLarge,
            UrOutForHexTransaction,
            NoTerminalToConfirm,
            NotConfirmed,
        ]
    }

    /// Each usage error's message and advice, as `CliError::Usage` prints them, with the
    /// usage kind and exit code 2.
    #[test]
    fn every_usage_error_says_what_happened_and_what_to_do() {
        let text: String = every_usage_error()
            .into_iter()
            .map(|usage| {
                let error = crate::error::CliError::Usage(usage);
                assert_eq!(error.kind(), keyexport_shared::ErrorKind::Usage);
                assert_eq!(error.exit_code().code, 2);
                format!(
                    "error: {}\nadvice: {}\n\n",
                    error.message(),
                    error.advice().unwrap_or("(none)")
                )
            })
            .collect();
        insta::assert_snapshot!(text);
    }
}
