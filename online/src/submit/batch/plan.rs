//! What a run does with each key of the batch, decided before any call from the responses
//! folder and the journal: a saved response is the truth whatever the journal says; a key
//! whose export may have been sent without a saved answer is never re-sent silently.

use std::collections::HashMap;
use std::path::Path;

use keyexport_shared::ErrorKind;
use keyexport_shared::files::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::files::{Artifact, KeyId};

use super::journal::{self, Event, Prior};
use super::summary::{KeyResult, Status};

/// What a run does with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Export it.
    Export,
    /// Export it if Dfns shows it not exported (an uncertain key, `--retry-uncertain`).
    Recheck(String),
    /// Report the earlier run's outcome without any call.
    Done(KeyResult),
}

/// What the folder holds under a key's response file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    /// Nothing (or nothing readable).
    Nothing,
    /// This key's response from this ceremony.
    Ours,
    /// Another file: not this key's response from this ceremony.
    InTheWay,
}

/// Decides, from the files in `dir` and the journal's `history`, what this run does with
/// each key, in the request's order.
pub fn plan(
    request: &BatchRequestFile,
    dir: &Path,
    history: &[Event],
    retry_uncertain: bool,
) -> Vec<(KeyId, Plan)> {
    let priors: HashMap<String, Prior> = journal::priors(history);
    request
        .key_ids
        .iter()
        .map(|key_id| {
            let path = dir.join(response_file_name(key_id));
            let on_disk = on_disk(request, key_id, &path);
            let prior = priors.get(key_id.as_str());
            let plan = decide(key_id, &path, on_disk, prior, retry_uncertain);
            (key_id.clone(), plan)
        })
        .collect()
}

/// How many keys of `plans` this run calls Dfns for.
pub fn to_send(plans: &[(KeyId, Plan)]) -> usize {
    plans
        .iter()
        .filter(|(_, p)| !matches!(p, Plan::Done(_)))
        .count()
}

fn on_disk(request: &BatchRequestFile, key_id: &KeyId, path: &Path) -> OnDisk {
    let Ok(bytes) = std::fs::read(path) else {
        return OnDisk::Nothing;
    };
    match Artifact::parse(&bytes) {
        Ok(Artifact::Response(file))
            if file.key_id == *key_id && file.ceremony_id == request.ceremony_id =>
        {
            OnDisk::Ours
        }
        _ => OnDisk::InTheWay,
    }
}

/// One key's plan: a file by its name settles it; otherwise an uncertain key is re-checked
/// only with `retry_uncertain`, and any other key (failed before, or new) is exported.
fn decide(
    key_id: &KeyId,
    path: &Path,
    on_disk: OnDisk,
    prior: Option<&Prior>,
    retry_uncertain: bool,
) -> Plan {
    match (on_disk, prior) {
        (OnDisk::Ours, _) => Plan::Done(KeyResult::new(key_id, Status::Skipped).with_file(path)),
        (OnDisk::InTheWay, _) => Plan::Done(
            KeyResult::new(key_id, Status::Failed)
                .because(
                    ErrorKind::Output,
                    "the folder holds a file by this key's name that is not its response from this ceremony; move it away and run again",
                )
                .with_file(path),
        ),
        (OnDisk::Nothing, Some(Prior::Uncertain(reason))) if retry_uncertain => {
            Plan::Recheck(reason.clone())
        }
        (OnDisk::Nothing, Some(Prior::Uncertain(reason))) => Plan::Done(
            KeyResult::new(key_id, Status::Uncertain).because(
                ErrorKind::ExportUncertain,
                format!("{reason}; check the key at Dfns (not re-sent: see --retry-uncertain)"),
            ),
        ),
        (OnDisk::Nothing, Some(Prior::Failed(_)) | None) => Plan::Export,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyexport_shared::dealer::Deal;
    use keyexport_shared::files::{CeremonyId, ResponseFile};
    use keyexport_shared::keys::DecryptionKey;
    use keyexport_shared::wire::ExportRequestBody;

    fn id(text: &str) -> KeyId {
        KeyId::new(text).unwrap()
    }

    fn priors() -> [Option<Prior>; 3] {
        [
            None,
            Some(Prior::Failed("HTTP 404".into())),
            Some(Prior::Uncertain("sent, no answer".into())),
        ]
    }

    #[test]
    fn a_file_by_the_key_s_name_settles_it_whatever_the_journal_says() {
        let key = id("key-1");
        let path = Path::new("/r/key-1.response.json");
        for prior in priors() {
            for retry in [false, true] {
                let skipped = decide(&key, path, OnDisk::Ours, prior.as_ref(), retry);
                let Plan::Done(row) = skipped else {
                    panic!("{prior:?} {retry}: {skipped:?}")
                };
                assert_eq!(row.status, Status::Skipped);
                assert_eq!(row.file.as_deref(), Some("/r/key-1.response.json"));
                assert!(!row.is_problem());
                let refused = decide(&key, path, OnDisk::InTheWay, prior.as_ref(), retry);
                let Plan::Done(row) = refused else {
                    panic!("{prior:?} {retry}: {refused:?}")
                };
                assert_eq!(row.status, Status::Failed);
                assert_eq!(row.kind, Some(ErrorKind::Output));
                assert_eq!(row.file.as_deref(), Some("/r/key-1.response.json"));
            }
        }
    }

    #[test]
    fn without_a_file_new_and_failed_keys_are_exported() {
        let key = id("key-1");
        for prior in [None, Some(Prior::Failed("HTTP 404".into()))] {
            for retry in [false, true] {
                let plan = decide(&key, Path::new("x"), OnDisk::Nothing, prior.as_ref(), retry);
                assert_eq!(plan, Plan::Export, "{prior:?} {retry}");
            }
        }
    }

    #[test]
    fn an_uncertain_key_is_re_checked_only_on_request() {
        let key = id("key-1");
        let prior = Prior::Uncertain("sent, no answer".into());
        assert_eq!(
            decide(&key, Path::new("x"), OnDisk::Nothing, Some(&prior), true),
            Plan::Recheck("sent, no answer".into())
        );
        let Plan::Done(row) = decide(&key, Path::new("x"), OnDisk::Nothing, Some(&prior), false)
        else {
            panic!("an uncertain key was planned for export");
        };
        assert_eq!(row.status, Status::Uncertain);
        assert_eq!(row.kind, Some(ErrorKind::ExportUncertain));
        assert_eq!(
            row.reason.as_deref(),
            Some("sent, no answer; check the key at Dfns (not re-sent: see --retry-uncertain)")
        );
    }

    /// A response file for `key_id` of `ceremony_id`, as `submit` writes it.
    fn response_file(ceremony_id: &CeremonyId, key_id: &KeyId) -> Vec<u8> {
        let decryption_key = DecryptionKey::generate();
        let dealt = Deal::new("FROST:ed25519".parse().unwrap(), 2, 3)
            .run(&decryption_key.encryption_key(), &mut rand_core::OsRng);
        ResponseFile::new(
            ceremony_id.clone(),
            key_id.clone(),
            "00".repeat(32),
            "2026-01-01T00:00:00Z".into(),
            "test".into(),
            "11".repeat(32),
            &dealt.response.to_json_value().to_string(),
        )
        .unwrap()
        .to_bytes()
    }

    #[test]
    fn the_plan_reads_the_folder_and_the_journal_in_the_request_s_order() {
        let names = ["ours", "other-ceremony", "garbage", "sent", "failed", "new"];
        let request = BatchRequestFile::new(
            CeremonyId::generate(),
            names.iter().map(|n| id(n)).collect(),
            ExportRequestBody {
                encryption_key: DecryptionKey::generate().encryption_key(),
                supported_schemes: vec!["FROST:ed25519".parse().unwrap()],
            },
            "2026-01-01T00:00:00Z".into(),
            "test".into(),
        );
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(dir.path().join(response_file_name(&id(name))), bytes).unwrap();
        };
        write("ours", &response_file(&request.ceremony_id, &id("ours")));
        write(
            "other-ceremony",
            &response_file(&CeremonyId::generate(), &id("other-ceremony")),
        );
        write("garbage", b"{}");
        let history = [
            Event::Sending {
                key_id: "sent".into(),
                at: "2026-01-01T00:00:01Z".into(),
            },
            Event::Failed {
                key_id: "failed".into(),
                kind: "not-found".into(),
                reason: "HTTP 404".into(),
                at: "2026-01-01T00:00:02Z".into(),
            },
        ];
        let plans = plan(&request, dir.path(), &history, false);
        let order: Vec<&str> = plans.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(order, names);
        let shown: Vec<(Option<Status>, Option<ErrorKind>)> = plans
            .iter()
            .map(|(_, p)| match p {
                Plan::Done(row) => (Some(row.status), row.kind),
                Plan::Export | Plan::Recheck(_) => (None, None),
            })
            .collect();
        assert_eq!(
            shown,
            [
                (Some(Status::Skipped), None),
                (Some(Status::Failed), Some(ErrorKind::Output)),
                (Some(Status::Failed), Some(ErrorKind::Output)),
                (Some(Status::Uncertain), Some(ErrorKind::ExportUncertain)),
                (None, None),
                (None, None),
            ]
        );
        assert_eq!(to_send(&plans), 2);
        // With --retry-uncertain the key sent without an answer is re-checked.
        let plans = plan(&request, dir.path(), &history, true);
        assert!(matches!(plans[3].1, Plan::Recheck(_)), "{:?}", plans[3]);
        assert_eq!(to_send(&plans), 3);
    }
}
