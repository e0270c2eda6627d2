//! The exit codes of `keyexport-online`: one named constant per code, with what it means
//! and what to do beside it, and the one table ([`EXIT_CODES`]) that `--help` prints and
//! tests compare with README.md and docs/runbook.md. An error's kind chooses its row
//! (`keyexport_shared::exit::exit_for`); this file holds the table only.

use keyexport_shared::ErrorKind;
use keyexport_shared::exit::Exit;

/// Exit code: success.
pub const EXIT_OK: Exit = Exit {
    code: 0,
    kinds: &[],
    meaning: "success (`submit`: exported, saved, QR/UR files written; on a canary request without `--canary-receipt`: the canary exported and saved, the real key untouched)",
    advice: "Step 4; after the canary stage (`\"stage\": \"canary-exported\"`): Step 2a, carry the canary to the offline machine.",
};
/// Exit code: a bug (a kind this table lacks); no failure is meant to end here.
pub const EXIT_INTERNAL: Exit = Exit {
    code: 1,
    kinds: &[],
    meaning: "internal error (a bug)",
    advice: "Stop, keep the message, report it.",
};
/// Exit code: invalid command-line arguments (clap's own convention).
pub const EXIT_USAGE: Exit = Exit {
    code: 2,
    kinds: &[ErrorKind::Usage],
    meaning: "invalid arguments; `show`: the terminal is too small for a QR code that scans",
    advice: "Read `--help`. For `show`: enlarge the window or use a smaller font to the size named, or carry the PNG files.",
};
/// Exit code: the input is unreadable or invalid.
pub const EXIT_INPUT: Exit = Exit {
    code: 3,
    kinds: &[ErrorKind::Input],
    meaning: "the request (file, photo, UR text) is unreadable, incomplete or not a request",
    advice: "Carry the request again; photograph all QR codes.",
};
/// Exit code: the configuration is missing or invalid.
pub const EXIT_CONFIG: Exit = Exit {
    code: 4,
    kinds: &[ErrorKind::Config],
    meaning: "configuration: API URL, token or credential missing or invalid",
    advice: "Set the `DFNS_*` variables (P3). Plain `http://` is allowed only to `127.0.0.1`.",
};
/// Exit code: refused before exporting.
pub const EXIT_REFUSED: Exit = Exit {
    code: 5,
    kinds: &[ErrorKind::Refused],
    meaning: "refused before exporting: key already exported or not active, key's curve not in the request, key id not confirmed, output files exist",
    advice: "Nothing was exported. Read the message: a key already exported has a `response.json` from the earlier run; find it. For a curve not offered, redo Step 1 with the right `--scheme`.",
};
/// Exit code: Dfns refused a call.
pub const EXIT_DFNS_REFUSED: Exit = Exit {
    code: 6,
    kinds: &[ErrorKind::DfnsRefused],
    meaning: "Dfns refused a call (400, 401, 402, 403, 404, 409): nothing exported",
    advice: "401: token expired or wrong, or (at `POST /auth/action`) a credential id Dfns does not know; 402: Key Export not enabled; 403: missing `Keys:Export`/`Keys:Read` or the credential's signature refused; 404: wrong key id or region; 409: already exported — find the earlier response.",
};
/// Exit code: a network failure before the export was sent.
pub const EXIT_NETWORK: Exit = Exit {
    code: 7,
    kinds: &[ErrorKind::Network],
    meaning: "network failure, rate limit or server error **before** the export was sent: nothing exported",
    advice: "Check the network, run `submit` again.",
};
/// Exit code: the export may have reached Dfns.
pub const EXIT_EXPORT_UNCERTAIN: Exit = Exit {
    code: 8,
    kinds: &[ErrorKind::ExportUncertain],
    meaning: "**the export may have reached Dfns**: it was sent but no answer came back",
    advice: "**Do not simply run it again.** Check the key in the Dfns dashboard. If it is not exported, run `submit` again (it checks first). If it is exported, the shares were produced but lost in transit: contact Dfns support with the key id and time.",
};
/// Exit code: a policy holds the export.
pub const EXIT_HELD: Exit = Exit {
    code: 9,
    kinds: &[ErrorKind::HeldForApproval],
    meaning: "held for approval by a policy (HTTP 202): nothing exported",
    advice: "Nothing was exported, and this tool will not receive the shares if it is approved later. Have the pending approval rejected, arrange the policy (approve beforehand or exempt this export as your policy allows), then run `submit` again with the same request.",
};
/// Exit code: saved, but the response fails a check.
pub const EXIT_RESPONSE_CHECK: Exit = Exit {
    code: 10,
    kinds: &[ErrorKind::ResponseCheck],
    meaning: "the response was saved but fails a check (not a valid export, public key differs from `GET /keys`)",
    advice: "The key **is** exported. Do not export again. Carry `response.json` to the offline machine: `reconstruct` verifies it independently. Report the discrepancy to Dfns.",
};
/// Exit code: the response could not be saved.
pub const EXIT_NOT_SAVED: Exit = Exit {
    code: 11,
    kinds: &[ErrorKind::NotSaved],
    meaning: "the response could not be saved; it was printed on standard output",
    advice: "Copy the printed text into a file **now**; do not run `submit` again. The key is already exported.",
};
/// Exit code: the QR/UR files could not be written.
pub const EXIT_TRANSPORT: Exit = Exit {
    code: 12,
    kinds: &[ErrorKind::Transport],
    meaning: "the response is saved but its QR/UR files could not be written",
    advice: "The response is safe. Use `keyexport-online show response.json` or carry the file on TRANSFER.",
};
/// Exit code: a batch with keys not exported.
pub const EXIT_BATCH_INCOMPLETE: Exit = Exit {
    code: 13,
    kinds: &[ErrorKind::BatchIncomplete],
    meaning: "a batch finished with keys not exported, each listed with its reason (none uncertain)",
    advice: "Fix what each reason names (key id, policy, permission…) and run the very same command again: saved keys are skipped, failed keys are tried again. A batch with **uncertain** keys exits 8 instead: check those keys at Dfns first ([batch.md](batch.md)).",
};
/// Exit code: an offline machine's secret was given.
pub const EXIT_OFFLINE_SECRET: Exit = Exit {
    code: 14,
    kinds: &[ErrorKind::OfflineSecret],
    meaning: "**an offline machine's secret** (sealed decryption key, custody part) was given as the request: nothing was sent",
    advice: "**Stop.** Nothing was sent. Wipe the file from this machine and from the stick it came on (or destroy the stick), tell the witness and note it on the paper log. If it was the sealed decryption key, its passphrase is now its only protection: start a new ceremony unless your policy accepts that. Carry `request.json` or `request.png`.",
};
/// Exit code: a canary ceremony's real export refused for want of a valid receipt.
pub const EXIT_CANARY_UNPROVEN: Exit = Exit {
    code: 15,
    kinds: &[ErrorKind::CanaryUnproven],
    meaning: "a canary ceremony's real export refused: the canary receipt is not valid for the canary this ceremony exported (altered, forged, of another ceremony or canary), or there is no canary response to check it against: the real key was not touched",
    advice: "Do not export the real key. Read which check failed. Carry back the `canary-receipt.json` (or `.png`) that `reconstruct` wrote for **this** ceremony's canary and give it with the same `--out`; if the canary failed offline, find out why before anything else.",
};
/// Exit code: the canary key could not be created for want of `Keys:Create`.
pub const EXIT_CANARY_PERMISSION: Exit = Exit {
    code: 16,
    kinds: &[ErrorKind::CanaryPermission],
    meaning: "the canary key could not be created: the token lacks `Keys:Create` (HTTP 403): nothing created, nothing exported",
    advice: "Grant the token's user or service account `Keys:Create` and `Keys:Delete`, then run `submit` again; or, if your policy accepts exporting without the rehearsal, run it with `--skip-canary` (warned and recorded).",
};
/// Exit code: a batch interrupted by Ctrl-C (the shell's 128 + SIGINT).
pub const EXIT_INTERRUPTED: Exit = Exit {
    code: 130,
    kinds: &[ErrorKind::Interrupted],
    meaning: "a batch stopped by Ctrl-C: the exports in flight finished and were saved, the rest are \"not attempted\" (a second Ctrl-C quits at once, with the same code and no summary)",
    advice: "Run the very same command again to resume: saved keys are skipped; a key that was in flight at a second Ctrl-C is listed as uncertain, never re-sent silently.",
};

/// The exit-code table, in order: the one source of `--help`'s list and of the tables in
/// README.md and docs/runbook.md.
pub const EXIT_CODES: [Exit; 18] = [
    EXIT_OK,
    EXIT_INTERNAL,
    EXIT_USAGE,
    EXIT_INPUT,
    EXIT_CONFIG,
    EXIT_REFUSED,
    EXIT_DFNS_REFUSED,
    EXIT_NETWORK,
    EXIT_EXPORT_UNCERTAIN,
    EXIT_HELD,
    EXIT_RESPONSE_CHECK,
    EXIT_NOT_SAVED,
    EXIT_TRANSPORT,
    EXIT_BATCH_INCOMPLETE,
    EXIT_OFFLINE_SECRET,
    EXIT_CANARY_UNPROVEN,
    EXIT_CANARY_PERMISSION,
    EXIT_INTERRUPTED,
];

#[cfg(test)]
mod tests {
    use keyexport_shared::exit;

    use super::*;

    /// Distinct codes, one row per kind, a row for the internal error.
    #[test]
    fn the_table_is_well_formed() {
        exit::check_table(&EXIT_CODES).unwrap_or_else(|e| panic!("{e}"));
    }

    /// README.md and docs/runbook.md carry the table of [`EXIT_CODES`], verbatim.
    #[test]
    fn docs_hold_the_exit_code_table() {
        let readme = include_str!("../../README.md");
        let runbook = include_str!("../../docs/runbook.md");
        exit::check_docs("keyexport-online", &EXIT_CODES, readme, runbook)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
