//! `keyexport-offline inspect`: what a request, response, QR image or UR text holds.
//!
//! Needs no decryption key and shows nothing secret (encrypted shares are listed by signer
//! only). Digests let the operators compare what left one machine with what reached the
//! other. Batch requests and responses folders are described by [`crate::batch::inspect`].
//! It writes nothing, so it may run on either machine and needs no air-gap guard.

use keyexport_shared::display::Escaped;
use keyexport_shared::key_object::KeyObjectFacts;
use serde::Serialize;

use keyexport_shared::files::Artifact;
use keyexport_shared::wire::ExportResponse;

use crate::batch::inspect::{BatchReport, SeenRequest};
use crate::cli::InspectArgs;
use crate::error::{CliError, CliResult};
use crate::inputs::{self, Found, FoundReceipt};
use crate::render;

/// One inspected artifact (public facts only).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    source: String,
    kind: &'static str,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceremony_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supported_schemes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    curve: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_signers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_count: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signers: Vec<String>,
    /// The key object's `masterKey`, `derivedFrom` and `wallets`, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_object: Option<KeyObjectFacts>,
    /// A request of a canary ceremony, or the canary's response.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    canary: bool,
}

/// One inspected canary receipt (public by construction).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptReport {
    source: String,
    kind: &'static str,
    sha256: String,
    ceremony_id: String,
    canary_key_id: String,
    protocol: String,
    curve: String,
    public_key: String,
    signature_scheme: &'static str,
    signature: String,
    /// Whether the signature verifies under the public key the receipt names. Only the
    /// online machine, which knows the canary it exported, can tell the receipt is its.
    signature_valid: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unknown_fields: Vec<String>,
}

impl ReceiptReport {
    fn new(found: &FoundReceipt) -> Self {
        let receipt = &found.receipt;
        ReceiptReport {
            source: found.source.clone(),
            kind: "canary-receipt",
            sha256: found.sha256.clone(),
            ceremony_id: receipt.ceremony_id().to_string(),
            canary_key_id: receipt.canary_key_id().to_string(),
            protocol: receipt.protocol().to_string(),
            curve: receipt.public_key().curve().to_string(),
            public_key: receipt.public_key().to_hex(),
            signature_scheme: receipt.signature_scheme().as_str(),
            signature: hex::encode(receipt.signature()),
            signature_valid: receipt.check_signature().is_ok(),
            unknown_fields: receipt.unknown_fields().to_vec(),
        }
    }
}

impl Report {
    fn empty(found: &Found, kind: &'static str) -> Self {
        Report {
            source: found.source.clone(),
            kind,
            sha256: found.sha256.clone(),
            ceremony_id: None,
            key_id: None,
            created: None,
            tool_version: None,
            encryption_key: None,
            fingerprint: None,
            supported_schemes: Vec::new(),
            request_sha256: None,
            received: None,
            protocol: None,
            curve: None,
            public_key: None,
            min_signers: None,
            share_count: None,
            signers: Vec::new(),
            key_object: None,
            canary: false,
        }
    }

    fn with_response(mut self, response: &ExportResponse) -> Self {
        self.protocol = Some(response.protocol.to_string());
        self.curve = Some(response.curve.to_string());
        self.public_key = Some(response.public_key.to_hex());
        self.min_signers = Some(response.min_signers);
        self.share_count = Some(response.shares.len());
        self.signers = response
            .shares
            .iter()
            .map(|s| s.signer_id.to_string())
            .collect();
        self
    }
}

/// The report of each single-key artifact found, and the batch requests found (described
/// by `batch::inspect`).
fn describe(found: &[Found]) -> CliResult<(Vec<Report>, Vec<SeenRequest>)> {
    let mut reports = Vec::new();
    let mut requests = Vec::new();
    for found in found {
        reports.push(match &found.artifact {
            Artifact::BatchRequest(file) => {
                requests.push((found.source.clone(), file.clone(), found.sha256.clone()));
                continue;
            }
            Artifact::Request(request) => {
                let body = &request.dfns_request;
                let mut report = Report::empty(found, "request");
                report.canary = request.canary;
                report.ceremony_id = Some(request.ceremony_id.to_string());
                report.key_id = Some(request.key_id.to_string());
                report.created = Some(request.created_at.clone());
                report.tool_version = Some(request.tool.clone());
                report.encryption_key = Some(body.encryption_key.to_base64());
                report.fingerprint = Some(body.encryption_key.fingerprint().to_string());
                report.supported_schemes = body
                    .supported_schemes
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                report
            }
            Artifact::Response(file) => {
                let response = file
                    .export_response()
                    .map_err(|e| CliError::shared(found.source.clone(), e))?;
                let mut report = Report::empty(found, "response-file").with_response(&response);
                report.ceremony_id = Some(file.ceremony_id.to_string());
                report.key_id = Some(file.key_id.to_string());
                report.request_sha256 = Some(file.request_sha256.clone());
                report.received = Some(file.received_at.clone());
                report.tool_version = Some(file.tool.clone());
                report.key_object = file.key_object().cloned();
                report.canary = file.canary;
                report
            }
            Artifact::DfnsResponse(response) => {
                Report::empty(found, "dfns-response").with_response(response)
            }
        });
    }
    Ok((reports, requests))
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> CliResult<()> {
    // Batch requests and responses folders are described on their own.
    let (folders, rest) = crate::batch::inspect::response_folders(&args.inputs)?;
    let gathered = if rest.is_empty() {
        inputs::Gathered::default()
    } else {
        inputs::gather(&rest)?
    };
    let (reports, requests) = describe(&gathered.found)?;
    let batch = crate::batch::inspect::reports(&requests, &folders)?;
    let receipts: Vec<ReceiptReport> = gathered.receipts.iter().map(ReceiptReport::new).collect();
    if args.json {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Output<'a> {
            artifacts: Vec<Described<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            incomplete_frames: Option<Partial>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Partial {
            distinct_frames: usize,
            percent: u8,
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Described<'a> {
            Single(&'a Report),
            Receipt(&'a ReceiptReport),
            Batch(&'a BatchReport),
        }
        let output = Output {
            artifacts: reports
                .iter()
                .map(Described::Single)
                .chain(receipts.iter().map(Described::Receipt))
                .chain(batch.iter().map(Described::Batch))
                .collect(),
            incomplete_frames: gathered.partial.as_ref().map(|p| Partial {
                distinct_frames: p.distinct_frames,
                percent: p.percent,
            }),
        };
        let text = keyexport_shared::display::to_json(&output)
            .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
        println!("{text}");
        // The report is printed, progress included; the run still fails: no whole file.
        return match &gathered.partial {
            Some(partial) => Err(inputs::incomplete(partial, true)),
            None => Ok(()),
        };
    }
    for report in &reports {
        print_report(report);
    }
    for receipt in &receipts {
        print_receipt(receipt);
    }
    for report in &batch {
        crate::batch::inspect::print(report);
    }
    match &gathered.partial {
        Some(partial) => {
            println!("UR frames (incomplete)");
            println!("  distinct frames {}", partial.distinct_frames);
            println!("  complete        about {}%", partial.percent);
            Err(inputs::incomplete(partial, false))
        }
        None => Ok(()),
    }
}

fn print_report(r: &Report) {
    let kind = match (r.kind, r.canary) {
        ("request", false) => "export request (made by keyexport-offline init)",
        ("request", true) => "export request of a canary ceremony (made by init --canary)",
        ("response-file", false) => "export response file (saved by keyexport-online)",
        ("response-file", true) => "the CANARY's export response (a throwaway key)",
        _ => "Dfns export response (raw API body)",
    };
    println!("{}", Escaped(&r.source));
    println!("  kind            {kind}");
    println!("  sha256          {}", r.sha256);
    if r.canary && r.kind == "request" {
        println!("  canary          required: a throwaway key is exported and rebuilt first");
    } else if r.canary {
        println!("  canary          reconstruct it to write the canary receipt");
    }
    let lines: [(&str, Option<String>); 14] = [
        ("ceremony", r.ceremony_id.clone()),
        ("key id", r.key_id.clone()),
        ("created", r.created.clone()),
        ("received", r.received.clone()),
        ("tool", r.tool_version.clone()),
        ("request sha256", r.request_sha256.clone()),
        ("encryption key", r.encryption_key.clone()),
        ("fingerprint", r.fingerprint.clone()),
        (
            "schemes",
            (!r.supported_schemes.is_empty())
                .then(|| render::wrapped_list(&r.supported_schemes, 18, 62)),
        ),
        (
            "scheme",
            r.protocol
                .as_ref()
                .zip(r.curve.as_ref())
                .map(|(p, c)| format!("{p} / {c}")),
        ),
        ("public key", r.public_key.clone()),
        (
            "threshold",
            r.min_signers
                .zip(r.share_count)
                .map(|(t, n)| format!("{t} of {n} shares")),
        ),
        (
            "signers",
            (!r.signers.is_empty()).then(|| r.signers.join(", ")),
        ),
        (
            "secrets",
            Some("none shown (shares stay encrypted)".to_owned()),
        ),
    ];
    for (label, value) in lines {
        if let Some(value) = value {
            println!("  {label:<16}{}", Escaped(value));
        }
    }
    if let Some(facts) = &r.key_object {
        print_key_object(facts);
    }
}

/// A canary receipt: its claims, and whether its signature verifies under the key it
/// names (hex in groups of 8, so nothing passes 80 columns).
fn print_receipt(r: &ReceiptReport) {
    println!("{}", Escaped(&r.source));
    println!("  kind            canary receipt (written by keyexport-offline reconstruct)");
    print_grouped("sha256", &r.sha256);
    println!("  ceremony        {}", r.ceremony_id);
    println!("  canary key id   {}", r.canary_key_id);
    println!("  scheme          {} / {}", r.protocol, r.curve);
    print_grouped("public key", &r.public_key);
    println!("  signed with     {}", r.signature_scheme);
    print_grouped("signature", &r.signature);
    if r.signature_valid {
        println!("  signature check valid under the receipt's own public key");
        println!("                  (submit also checks that key is the canary it exported)");
    } else {
        println!("  signature check INVALID: altered, or never signed by that key");
    }
    for field in &r.unknown_fields {
        println!("  unknown field   {} (ignored)", Escaped(field));
    }
}

/// `  label           ` then the hex in groups of 8 digits, 6 groups a line.
fn print_grouped(label: &str, hex: &str) {
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(8)
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    for (i, line) in groups.chunks(6).enumerate() {
        let label = if i == 0 { label } else { "" };
        println!("  {label:<16}{}", line.join(" "));
    }
}

/// Longest recorded JSON value shown on one line (all of it is in `--json`).
const KEY_OBJECT_VALUE_SHOWN: usize = 60;

/// The key object's HD facts as the response file recorded them: `masterKey`,
/// `derivedFrom`, and one line per wallet (id, network, path).
fn print_key_object(facts: &KeyObjectFacts) {
    let compact = |value: &serde_json::Value| {
        let text = value.to_string();
        if text.chars().count() > KEY_OBJECT_VALUE_SHOWN {
            let cut: String = text.chars().take(KEY_OBJECT_VALUE_SHOWN).collect();
            format!("{cut}... (--json shows all)")
        } else {
            text
        }
    };
    if let Some(master) = &facts.master_key {
        println!("  {:<16}{}", "masterKey", compact(master));
    }
    if let Some(derived) = &facts.derived_from {
        println!("  {:<16}{}", "derivedFrom", compact(derived));
    }
    if facts.wallets.is_some() {
        let entries = facts.wallet_entries();
        println!(
            "  {:<16}{} listed by the key object",
            "wallets",
            entries.len()
        );
        for entry in entries.iter().take(8) {
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).unwrap_or("-");
            println!(
                "    {} {} {}",
                field("id"),
                field("network"),
                field("derivationPath")
            );
        }
        if entries.len() > 8 {
            println!("    … and {} more (--json shows all)", entries.len() - 8);
        }
    }
}
