//! Command-line interface of `keyexport-offline`: clap derive definitions only.
//!
//! Kept alone (no logic) so that man pages and shell completions can be generated from it.
//! The interface (`init`, `reconstruct`, `inspect` and their flags) is relied on by
//! operators' runbooks: extend it, never rename it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use keyexport_shared::custody::MAX_CUSTODIANS;
use keyexport_shared::exit::help;
use keyexport_shared::hd::DerivationPath;
use keyexport_shared::scheme::Scheme;

use crate::exit::EXIT_CODES;
use crate::signature::SignScheme;

/// Air-gapped side of the Dfns Export Key ceremony.
///
/// Creates the decryption key and the export request, then decrypts the exported shares,
/// rebuilds the private key, verifies it against the public key and delivers it.
///
/// Example: keyexport-offline init --key-id key-01j8... --out ./ceremony
#[derive(Debug, Parser)]
#[command(
    name = "keyexport-offline",
    version,
    after_help = help(&EXIT_CODES),
    after_long_help = help(&EXIT_CODES)
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the decryption key (sealed with a passphrase) and the export request.
    ///
    /// Example: keyexport-offline init --key-id key-01j8... --out ./ceremony
    ///
    /// Runbook: docs/runbook.md, Step 1 — Create the request.
    #[command(after_help = help(&EXIT_CODES))]
    Init(InitArgs),
    /// Decrypt the exported shares, rebuild and verify the key, and deliver it.
    ///
    /// Example: keyexport-offline reconstruct --decryption-key ./ceremony/decryption-key.age --response ./response.json --out key.hex
    ///
    /// Runbook: docs/runbook.md, Step 5 — Rebuild and verify the key (and Step 6 — Deliver the key).
    #[command(after_help = help(&EXIT_CODES))]
    Reconstruct(ReconstructArgs),
    /// Show what a request, response, QR image or UR text holds, without any secret.
    ///
    /// Example: keyexport-offline inspect ./ceremony/request.json ./photos/
    ///
    /// Runbook: docs/runbook.md, Step 2 — Carry the request to the online machine (and Step 4).
    #[command(after_help = help(&EXIT_CODES))]
    Inspect(InspectArgs),
    /// Check a custody part of a split decryption key, without any other part.
    ///
    /// Example: keyexport-offline custody verify ./ceremony/alice.decryption-key-part.age --request ./ceremony/request.json
    ///
    /// Runbook: docs/runbook.md, Step 1 — Create the request (custody variant).
    #[command(subcommand, after_help = help(&EXIT_CODES))]
    Custody(CustodyCommand),
    /// Check the hash chain of a ceremony transcript and the files it records.
    ///
    /// Example: keyexport-offline transcript verify ./ceremony
    ///
    /// Runbook: docs/runbook.md, Step 7 — Close the ceremony (and at every step).
    #[command(subcommand, after_help = help(&EXIT_CODES))]
    Transcript(TranscriptCommand),
    /// Sign a transaction with the rebuilt key, shown before signing, without the key leaving this machine.
    ///
    /// Rebuilds and verifies the key exactly as `reconstruct` does (or loads a key file
    /// written by `reconstruct --out`, checked against the public key). A transaction
    /// (--psbt, --eth-tx, --solana-tx) is parsed and summarised, and signed once `sign` is
    /// typed; a bare digest or message needs --blind. Every signature is verified against
    /// the export's public key before anything is printed.
    ///
    /// Example: keyexport-offline sign --decryption-key ./ceremony/decryption-key.age --response ./response.json --psbt ./unsigned.psbt --out ./signed.psbt
    ///
    /// Runbook: docs/runbook.md, Step 6a — Sign a transaction without moving the key (optional).
    #[command(after_help = help(&EXIT_CODES))]
    Sign(Box<SignArgs>),
    /// Play the request's QR codes (or a wallet answer of `sign --ur-out`) in the terminal,
    /// sized to it, for a camera to read.
    ///
    /// Example: keyexport-offline show ./ceremony/request.json
    ///
    /// Runbook: docs/runbook.md, Step 2 — Carry the request to the online machine.
    #[command(after_help = help(&EXIT_CODES))]
    Show(ShowArgs),
    /// Describe this build: version, git commit, rustc, target, Cargo.lock digest.
    ///
    /// Example: keyexport-offline version --json
    ///
    /// Runbook: docs/runbook.md, P1 — Get and verify the binaries.
    Version(VersionArgs),
}

/// `keyexport-offline version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print one JSON object instead of one line.
    #[arg(long)]
    pub json: bool,
}

/// The air-gap override shared by the commands that touch secrets.
#[derive(Debug, Args)]
pub struct AirGapArgs {
    /// Run even though a non-loopback network interface is up (prints a loud warning).
    /// Only for rehearsals: the real ceremony belongs on a machine without network.
    #[arg(
        long,
        env = "KEYEXPORT_ALLOW_ONLINE",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_online: bool,
}

/// `keyexport-offline init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Dfns key id the export is for (printed and recorded in the request). Repeat it,
    /// or add --key-ids-file, for a batch: one decryption key and one request for all keys.
    #[arg(long, value_name = "ID", required_unless_present = "key_ids_file")]
    pub key_id: Vec<String>,
    /// A file of key ids for a batch: one per line, blank lines and `#` comments allowed.
    #[arg(long, value_name = "FILE")]
    pub key_ids_file: Option<PathBuf>,
    /// Ceremony directory to write into: created if absent, must be empty otherwise.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A scheme to offer Dfns, as PROTOCOL:CURVE (e.g. CGGMP24:secp256k1); repeat for more.
    /// Default: the 9 pairs Dfns issues keys for (ECDSA: CGGMP24, CGGMP21, KU23 on
    /// secp256k1 and stark; FROST:ed25519; FROST_BITCOIN:secp256k1; GLOW20_DH:secp256k1).
    #[arg(long = "scheme", value_name = "PROTOCOL:CURVE")]
    pub schemes: Vec<Scheme>,
    /// Read the passphrase that seals the decryption key from this file (one line)
    /// instead of asking twice on the terminal. With --custodians: repeat it, one file per
    /// passphrase-sealed part, in custodian order.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Vec<PathBuf>,
    /// Split the decryption key into this many custody parts (2 to 16), one file each,
    /// instead of sealing it whole; for one key or a batch (the parts then serve every key
    /// of the batch).
    #[arg(
        long,
        value_name = "M",
        requires = "quorum",
        value_parser = clap::value_parser!(u8).range(2..=i64::from(MAX_CUSTODIANS))
    )]
    pub custodians: Option<u8>,
    /// Parts needed to rebuild the decryption key (2 ≤ K ≤ M).
    #[arg(
        long,
        value_name = "K",
        requires = "custodians",
        value_parser = clap::value_parser!(u8).range(2..=i64::from(MAX_CUSTODIANS))
    )]
    pub quorum: Option<u8>,
    /// Name of a custodian, in order (letters, digits, '.', '_', '-'); repeat once per
    /// custodian. Names the part file LABEL.decryption-key-part.age. Default: custodian-1…
    #[arg(
        long = "custodian-label",
        value_name = "LABEL",
        requires = "custodians"
    )]
    pub custodian_labels: Vec<String>,
    /// Seal the part of custodian LABEL to an age X25519 recipient instead of a passphrase
    /// (e.g. alice=age1…); repeat for several custodians.
    #[arg(
        long = "custodian-recipient",
        value_name = "LABEL=RECIPIENT",
        requires = "custodians"
    )]
    pub custodian_recipients: Vec<String>,
    /// Rehearsals only: accept passphrases below the floor (20 characters or 5 words). A
    /// loud warning is printed and the transcript records it.
    #[arg(long)]
    pub allow_short_passphrase: bool,
    /// A canary ceremony: the request requires that the online machine first export a
    /// throwaway key with it, and that this machine rebuild that key and write a canary
    /// receipt (`reconstruct`), before the real key is exported. One canary serves a batch.
    #[arg(long)]
    pub canary: bool,
    #[command(flatten)]
    pub air_gap: AirGapArgs,
}

/// Private-key output formats of `reconstruct --out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    /// 64 hex digits, big-endian scalar, one line.
    Hex,
    /// Wallet Import Format, compressed (secp256k1 only; see --network).
    Wif,
    /// Ethereum keystore v3 JSON (scrypt, aes-128-ctr), importable by geth and MetaMask
    /// (secp256k1 only).
    EthKeystore,
    /// BIP-32 extended private key of the HD root, one line (`xprv`, `tprv` with
    /// --network testnet): secp256k1 keys exported with a chain code only.
    Xprv,
}

impl KeyFormat {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeyFormat::Hex => "hex",
            KeyFormat::Wif => "wif",
            KeyFormat::EthKeystore => "eth-keystore",
            KeyFormat::Xprv => "xprv",
        }
    }
}

/// Bitcoin network for WIF output and BIP-32 extended keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// Bitcoin mainnet.
    Mainnet,
    /// Bitcoin testnet (and signet/regtest, which share the WIF prefix).
    Testnet,
}

/// `keyexport-offline reconstruct`.
#[derive(Debug, Args)]
pub struct ReconstructArgs {
    /// The sealed decryption key written by `init`, or a plain file holding the Dfns hex
    /// serialization `01<64 hex>` (unprotected: a warning is printed). For a split key:
    /// repeat it, once per custody part (at least the quorum); a batch's parts open its
    /// decryption key once for every key.
    #[arg(long, value_name = "PATH", required = true)]
    pub decryption_key: Vec<PathBuf>,
    /// The export response, in any mix: raw Dfns JSON, the response file of
    /// keyexport-online, QR images (files or a directory), a text file of UR frames, or `-`
    /// for UR frames on standard input (one per line, as a QR scanner types them).
    #[arg(long = "response", value_name = "INPUT", required = true, num_args = 1..)]
    pub responses: Vec<String>,
    /// Read the passphrase of the sealed decryption key from this file. For custody parts:
    /// repeat it, one per passphrase-sealed part, in the order the parts are given.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Vec<PathBuf>,
    /// An age identity file opening custody parts sealed to a recipient; repeat for several.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Write the private key to this new file (mode 0600; never overwrites).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Format of the key written by --out.
    #[arg(long, value_enum, default_value_t = KeyFormat::Hex, requires = "out")]
    pub format: KeyFormat,
    /// Network for --format wif and xprv, and for the xpub shown (testnet: tpub/tprv).
    #[arg(long, value_enum, default_value_t = Network::Mainnet)]
    pub network: Network,
    /// HD root keys (exported with a chain code): derive the child at this BIP-32 path
    /// (m/0/5; hardened with ' or h) and show its public key and addresses; repeatable.
    /// Its private key is printed only with --reveal, and written only with --out, one file
    /// per path beside it (key.hex and m/0/5 give key.m-0-5.hex). Schemes: secp256k1
    /// BIP-32; ed25519 the hd-wallet crate's Edwards derivation (as Dfns' MPC stack; not
    /// SLIP-10); stark hd-wallet's Stark derivation. Refused for a key without chain code.
    #[arg(long = "derive", value_name = "PATH")]
    pub derive: Vec<DerivationPath>,
    /// Read the passphrase of the Ethereum keystore from this file (otherwise asked twice).
    #[arg(long, value_name = "FILE")]
    pub keystore_passphrase_file: Option<PathBuf>,
    /// Encrypt the --out file to this age recipient (age1...); repeat for several.
    #[arg(long, value_name = "RECIPIENT", requires = "out")]
    pub encrypt_to: Vec<String>,
    /// Print the private key (64 hex, big-endian) on standard output.
    #[arg(long)]
    pub reveal: bool,
    /// Print exactly one JSON object on standard output (success or error).
    #[arg(long)]
    pub json: bool,
    /// Ceremony transcript to append to. Default: transcript.jsonl beside the decryption key.
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Once the verified key is written to --out, overwrite and delete the given sealed key
    /// files (or custody parts), and record it in the transcript. Not a guarantee on SSD or
    /// flash storage.
    #[arg(long, requires = "out")]
    pub destroy_decryption_key: bool,
    #[command(flatten)]
    pub air_gap: AirGapArgs,
}

/// `keyexport-offline custody …`.
#[derive(Debug, Subcommand)]
pub enum CustodyCommand {
    /// Check that a custody part unseals and belongs to the ceremony, without other parts.
    ///
    /// Example: keyexport-offline custody verify ./ceremony/alice.decryption-key-part.age --request ./ceremony/request.json
    ///
    /// Runbook: docs/runbook.md, Step 1 — Create the request (custody variant).
    #[command(after_help = help(&EXIT_CODES))]
    Verify(CustodyVerifyArgs),
}

/// `keyexport-offline custody verify`.
#[derive(Debug, Args)]
pub struct CustodyVerifyArgs {
    /// The custody part file (LABEL.decryption-key-part.age).
    #[arg(value_name = "PART")]
    pub part: PathBuf,
    /// The ceremony's request.json: also check the part is bound to its encryption key.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// Read the custodian's passphrase from this file instead of asking on the terminal.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// An age identity file, for a part sealed to a recipient; repeat for several.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    #[command(flatten)]
    pub air_gap: AirGapArgs,
}

/// `keyexport-offline sign`.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("key_source")
        .required(true)
        .args(["decryption_key", "key"])
))]
#[command(group(ArgGroup::new("public_key_source").args(["responses", "public_key"])))]
#[command(group(ArgGroup::new("transaction").args(["psbt", "eth_tx", "solana_tx"])))]
#[command(group(
    ArgGroup::new("message")
        .required(true)
        .args(["message_hex", "message_file", "message_qr", "message_ur", "psbt", "eth_tx", "solana_tx"])
))]
pub struct SignArgs {
    /// The sealed decryption key written by `init` (or a plain `01<64 hex>` file), as for
    /// `reconstruct`: the key is rebuilt from --response and verified first. For a split
    /// key: repeat it, once per custody part (at least the quorum); parts sealed to an age
    /// recipient are opened with --identity.
    #[arg(long, value_name = "PATH", requires = "responses")]
    pub decryption_key: Vec<PathBuf>,
    /// The export response, as for `reconstruct`: raw Dfns JSON, the response file of
    /// keyexport-online, QR images (files or a directory), a text file of UR frames, or `-`.
    /// With --key it only supplies the public key the key file is checked against.
    #[arg(long = "response", value_name = "INPUT", num_args = 1..)]
    pub responses: Vec<String>,
    /// Read the passphrase of the sealed decryption key from this file. For custody parts:
    /// repeat it, one per part, in the order the parts are given.
    #[arg(long, value_name = "FILE", requires = "decryption_key")]
    pub passphrase_file: Vec<PathBuf>,
    /// Sign with a key file written by `reconstruct --out` (--format hex or wif), plain or
    /// age-encrypted (--encrypt-to); needs --response or --public-key to check it against.
    #[arg(long, value_name = "FILE", requires = "public_key_source")]
    pub key: Option<PathBuf>,
    /// The export's public key in hex (with --key, instead of --response); its curve is the
    /// one of --scheme.
    #[arg(
        long,
        value_name = "HEX",
        requires = "key",
        conflicts_with = "responses"
    )]
    pub public_key: Option<String>,
    /// age identity file (AGE-SECRET-KEY-1..., as written by age-keygen) that opens an
    /// age-encrypted --key (it may itself be passphrase-encrypted with `age -p`) or a
    /// custody part sealed to a recipient (a plain identity file, as for `reconstruct`);
    /// repeatable.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Read the passphrase of a passphrase-encrypted --identity file from this file (with
    /// --key).
    #[arg(long, value_name = "FILE", requires = "identity", requires = "key")]
    pub identity_passphrase_file: Option<PathBuf>,
    /// Sign with the child key at this BIP-32 path of an HD root (m/0/5; hardened with '
    /// or h), derived as `reconstruct --derive` does (needs --decryption-key: the chain
    /// code is in the shares).
    #[arg(long = "derive", value_name = "PATH", requires = "decryption_key")]
    pub derive: Option<DerivationPath>,
    /// Signature scheme (for a bare digest or message; a transaction names its own).
    #[arg(
        long,
        value_enum,
        value_name = "SCHEME",
        required_unless_present_any = TRANSACTIONS,
        conflicts_with_all = TRANSACTIONS
    )]
    pub scheme: Option<SignScheme>,
    /// ecdsa-secp256k1 only: also give the recovery id (Ethereum's yParity); the text
    /// output becomes `r ‖ s ‖ id`, 65 bytes.
    #[arg(long)]
    pub recoverable: bool,
    /// The message in hex (`0x` allowed): the 32-byte digest for ecdsa-secp256k1 and
    /// bip340*, the transaction hash for stark-ecdsa, the whole message for ed25519.
    #[arg(long, value_name = "HEX")]
    pub message_hex: Option<String>,
    /// Read the message from this file, as raw bytes.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Read the message from QR images (files or a directory): UR frames (`ur:bytes`) of
    /// the raw message, or one QR code holding the message in hex.
    #[arg(long, value_name = "IMAGE", num_args = 1..)]
    pub message_qr: Vec<String>,
    /// Read the message from UR frames (`ur:bytes`, raw message): a frame given as text, a
    /// text file of frames (one per line), or `-` for frames on standard input.
    #[arg(long, value_name = "INPUT", num_args = 1..)]
    pub message_ur: Vec<String>,
    /// A Bitcoin PSBT (BIP-174 version 0 or BIP-370 version 2) to show and sign: a file (binary or base64 text),
    /// the base64 text itself, or the wallet's QR code (`ur:crypto-psbt`, animated or not):
    /// PNG/JPEG images, a folder of them, a text file of frames, a frame as text, or `-`
    /// for a USB scanner. Its P2WPKH and Taproot key-path (BIP-86) inputs of this key are
    /// signed after the summary is confirmed; standard output is the signed PSBT in base64.
    #[arg(
        long,
        value_name = "INPUT",
        num_args = 1..,
        conflicts_with_all = NOT_WITH_A_TRANSACTION
    )]
    pub psbt: Vec<String>,
    /// An unsigned Ethereum transaction to show and sign: a file or the text of its hex
    /// (RLP for legacy EIP-155, `0x01…` EIP-2930, `0x02…` EIP-1559), or the wallet's QR
    /// code (`ur:eth-sign-request`, Keystone/MetaMask), given as for --psbt. Standard
    /// output is the raw signed transaction in `0x` hex, for eth_sendRawTransaction.
    #[arg(
        long,
        value_name = "INPUT",
        num_args = 1..,
        conflicts_with_all = NOT_WITH_A_TRANSACTION
    )]
    pub eth_tx: Vec<String>,
    /// A Solana message (legacy or v0) or unsigned transaction to show and sign: a file,
    /// or its base64 or base58 text. Standard output is the signed transaction in base64.
    #[arg(
        long,
        value_name = "INPUT",
        conflicts_with_all = NOT_WITH_A_TRANSACTION
    )]
    pub solana_tx: Option<String>,
    /// --eth-tx: refuse the transaction unless it is for this chain id (1: Ethereum
    /// mainnet).
    #[arg(long, value_name = "ID", requires = "eth_tx")]
    pub chain_id: Option<u64>,
    /// Also write the signed transaction to this new file (--psbt: the binary PSBT;
    /// --eth-tx: the raw transaction in hex; --solana-tx: the transaction in base64).
    #[arg(long, value_name = "FILE", requires = "transaction")]
    pub out: Option<PathBuf>,
    /// Also write the answer as UR frames for the wallet's camera into this new or empty
    /// folder: TYPE.txt (one frame per line) and TYPE-01.png, … (one QR code each, shown
    /// in turn). --psbt: the signed PSBT (`crypto-psbt`); --eth-tx: `eth-signature`.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "solana_tx",
        requires = "transaction"
    )]
    pub ur_out: Option<PathBuf>,
    /// The network whose addresses the --psbt summary shows.
    #[arg(long, value_enum, default_value_t = Network::Mainnet)]
    pub network: Network,
    /// Sign the bare digest or message given (--message-*) although this machine cannot
    /// see what it pays: a loud warning is printed and the transcript records the
    /// signature as blind.
    #[arg(long, conflicts_with = "transaction")]
    pub blind: bool,
    /// Sign without asking to type `sign` after the summary (scripts that checked the
    /// transaction themselves). Without it and without a terminal, nothing is signed.
    #[arg(long)]
    pub yes: bool,
    /// Print exactly one JSON object on standard output (success or error).
    #[arg(long)]
    pub json: bool,
    /// Also write the signature (the text printed on standard output) as a QR code to this
    /// new PNG file.
    #[arg(long, value_name = "FILE")]
    pub qr_out: Option<PathBuf>,
    /// Also show the signature as a QR code on the terminal (on standard error).
    #[arg(long)]
    pub qr: bool,
    /// Ceremony transcript to append to. Default: transcript.jsonl beside the decryption
    /// key (or beside the --key file).
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    #[command(flatten)]
    pub air_gap: AirGapArgs,
}

/// `keyexport-offline transcript …`.
#[derive(Debug, Subcommand)]
pub enum TranscriptCommand {
    /// Check the chain, every recorded file digest, and print who wrote each step and the head.
    ///
    /// Example: keyexport-offline transcript verify ./ceremony
    ///
    /// Runbook: docs/runbook.md, Step 7 — Close the ceremony (and at every step).
    #[command(after_help = help(&EXIT_CODES))]
    Verify(TranscriptVerifyArgs),
}

/// `keyexport-offline transcript verify`.
#[derive(Debug, Args)]
pub struct TranscriptVerifyArgs {
    /// A ceremony folder (its transcript.jsonl) or a transcript file.
    #[arg(value_name = "DIR")]
    pub path: PathBuf,
    /// A head the witnesses wrote on the paper log; the transcript must still pass through
    /// it (this catches an edited or removed last line). Repeat for every head written.
    /// The whole head, its first and last 8 hex digits as on the checklist
    /// (7240f9c8…0bd41a2c; `...` works too), or its first 8.
    #[arg(long = "head", value_name = "HEAD")]
    pub heads: Vec<HeadRef>,
    /// Print one JSON object on standard output instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keyexport-offline show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request.json written by `init`, the canary-receipt.json written by `reconstruct`
    /// of a canary's response, or the frames file `sign --ur-out` wrote for a wallet
    /// (crypto-psbt.txt, eth-signature.txt).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Frames per second (1 to 30).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub fps: u32,
    /// Play the frames this many times (0: until interrupted).
    #[arg(long, default_value_t = 0)]
    pub loops: u32,
}

/// `keyexport-offline inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Request or response files (single or batch), QR images or directories of them, a
    /// batch's responses folder, UR text files, or `-`.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
    /// Print one JSON object on standard output instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A transcript head as the witness wrote it on the paper log (`--head`): the whole
/// SHA-256 (64 hex digits), its first and last 8 hex digits (`7240f9c8…0bd41a2c`, as the
/// runbook's checklist asks; `...` or `..` for the ellipsis), or its first 8 only. Spaces
/// (the grouping the tools print) and case are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadRef {
    /// All 64 hex digits.
    Full(String),
    /// The first and the last 8 hex digits.
    Ends {
        /// The first 8 hex digits.
        first: String,
        /// The last 8 hex digits.
        last: String,
    },
    /// The first 8 hex digits alone.
    First(String),
}

/// What `--head` accepts, for the usage error.
/// The `sign` options that give a transaction (each names its own scheme).
const TRANSACTIONS: [&str; 3] = ["psbt", "eth_tx", "solana_tx"];

/// The `sign` options that have no meaning for a transaction, which is answered in its
/// own format.
const NOT_WITH_A_TRANSACTION: [&str; 3] = ["recoverable", "qr", "qr_out"];

const HEAD_FORMS: &str = "give the whole head (64 hex digits), its first and last 8 hex digits as on the checklist (e.g. 7240f9c8…0bd41a2c), or its first 8";

impl HeadRef {
    /// Whether the line digest `digest` (64 lowercase hex digits) is this head.
    pub fn matches(&self, digest: &str) -> bool {
        match self {
            HeadRef::Full(full) => digest == full,
            HeadRef::Ends { first, last } => digest.starts_with(first) && digest.ends_with(last),
            HeadRef::First(first) => digest.starts_with(first),
        }
    }
}

impl FromStr for HeadRef {
    type Err = String;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let compact: String = given
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let ends = ["…", "...", ".."]
            .iter()
            .find_map(|sep| compact.split_once(sep));
        let parsed = match ends {
            Some((first, last)) if hex(first, 8) && hex(last, 8) => Some(HeadRef::Ends {
                first: first.to_owned(),
                last: last.to_owned(),
            }),
            Some(_) => None,
            None if hex(&compact, 64) => Some(HeadRef::Full(compact)),
            None if hex(&compact, 8) => Some(HeadRef::First(compact)),
            None => None,
        };
        parsed.ok_or_else(|| format!("`{given}` is not a transcript head: {HEAD_FORMS}"))
    }
}

impl fmt::Display for HeadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadRef::Full(full) => f.write_str(full),
            HeadRef::Ends { first, last } => write!(f, "{first}…{last}"),
            HeadRef::First(first) => write!(f, "{first}…"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
