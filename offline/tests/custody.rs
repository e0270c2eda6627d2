//! Quorum custody of the decryption key through the CLI: `init --custodians M
//! --quorum K`, `reconstruct` with parts, `custody verify`, and the parts that must be
//! named and set aside (wrong passphrase, another ceremony, a modified share, too few).

use std::path::{Path, PathBuf};

use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::files::{Artifact, RequestFile};
use predicates::prelude::*;
use rand_core::OsRng;

use crate::common::{
    self, age_open, age_seal, deal_raw_response, offline, passphrase_file, s, shown,
};

/// One `init --custodians M --quorum K` with a passphrase file per custodian (also used
/// by the batch tests, as the single-key ceremony whose parts a batch refuses).
pub(crate) struct Split {
    root: PathBuf,
    pub(crate) dir: PathBuf,
    labels: Vec<String>,
    pub(crate) passes: Vec<PathBuf>,
    pub(crate) request: RequestFile,
    request_bytes: Vec<u8>,
}

impl Split {
    pub(crate) fn new(root: &Path, name: &str, k: usize, m: usize) -> Split {
        let labels: Vec<String> = (1..=m).map(|i| format!("{name}-c{i}")).collect();
        let passes: Vec<PathBuf> = labels
            .iter()
            .map(|l| {
                passphrase_file(
                    root,
                    &format!("{l}.pass"),
                    &format!("the passphrase of {l}"),
                )
            })
            .collect();
        let dir = root.join(name);
        let mut cmd = offline();
        cmd.args(["init", "--key-id", "key-01custody", "--out", s(&dir)])
            .args(["--scheme", "CGGMP24:secp256k1"])
            .args(["--custodians", &m.to_string(), "--quorum", &k.to_string()]);
        for (label, pass) in labels.iter().zip(&passes) {
            cmd.args(["--custodian-label", label, "--passphrase-file", s(pass)]);
        }
        cmd.assert()
            .success()
            .stderr(predicate::str::contains(format!(
                "split: {k} of {m} parts rebuild it"
            )));
        assert!(!dir.join("decryption-key.age").exists());
        let request_bytes = std::fs::read(dir.join("request.json")).unwrap();
        let Artifact::Request(request) = Artifact::parse(&request_bytes).unwrap() else {
            panic!("init wrote something else than a request");
        };
        Split {
            root: root.to_path_buf(),
            dir,
            labels,
            passes,
            request,
            request_bytes,
        }
    }

    pub(crate) fn part(&self, i: usize) -> PathBuf {
        self.dir
            .join(format!("{}.decryption-key-part.age", self.labels[i]))
    }

    pub(crate) fn deal(&self) -> Dealt {
        Deal::new("CGGMP24:secp256k1".parse().unwrap(), 2, 3)
            .run(&self.request.dfns_request.encryption_key, &mut OsRng)
    }

    /// A keyexport response file naming this ceremony.
    pub(crate) fn response(&self, dealt: &Dealt) -> PathBuf {
        let file = common::response_file(
            dealt,
            self.request.ceremony_id.clone(),
            self.request.key_id.clone(),
            &self.request_bytes,
        );
        let path = self.root.join(format!("{}-response.json", self.labels[0]));
        std::fs::write(&path, file.to_bytes()).unwrap();
        path
    }

    /// A fresh export dealt to this ceremony, and its response file.
    pub(crate) fn deal_response(&self) -> (Dealt, PathBuf) {
        let dealt = self.deal();
        let response = self.response(&dealt);
        (dealt, response)
    }

    /// The request `init` wrote.
    pub(crate) fn request_path(&self) -> PathBuf {
        self.dir.join("request.json")
    }

    /// `custody verify` of part `i` with its passphrase file, to which a test may add
    /// `--request`.
    pub(crate) fn verify(&self, i: usize) -> assert_cmd::Command {
        let mut cmd = offline();
        cmd.args(["custody", "verify", s(&self.part(i))])
            .args(["--passphrase-file", s(&self.passes[i])]);
        cmd
    }

    /// `reconstruct` with the given parts (by index) and their passphrase files.
    fn reconstruct(&self, parts: &[usize], response: &Path) -> assert_cmd::Command {
        let mut cmd = offline();
        cmd.args(["reconstruct", "--response", s(response)]);
        for &i in parts {
            cmd.args(["--decryption-key", s(&self.part(i))]);
            cmd.args(["--passphrase-file", s(&self.passes[i])]);
        }
        cmd
    }
}

/// Replaces the part file `path` with `plaintext` sealed with `pass`.
/// A [`Split`] of `name` (`m` custodians, quorum `k`) in its own temporary folder, a fresh
/// export dealt to it, and its response file.
fn exported(name: &str, k: usize, m: usize) -> (tempfile::TempDir, Split, Dealt, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let split = Split::new(tmp.path(), name, k, m);
    let (dealt, response) = split.deal_response();
    (tmp, split, dealt, response)
}

/// `sign` of the digest `digest` (ecdsa-secp256k1) with the dealt key itself, written as
/// `DIR/key.hex`: what a signature made from the parts must equal (deterministic nonces).
fn sign_with_the_key(
    dir: &Path,
    dealt: &Dealt,
    response: &Path,
    digest: &str,
) -> assert_cmd::Command {
    let key_file = dir.join("key.hex");
    std::fs::write(
        &key_file,
        format!("{}\n", dealt.private_key.to_hex().as_str()),
    )
    .unwrap();
    let mut cmd = offline();
    cmd.args(["sign", "--blind", "--yes", "--key", s(&key_file)])
        .args(["--response", s(response)])
        .args(["--scheme", "ecdsa-secp256k1", "--message-hex", digest]);
    cmd
}

fn seal(path: &Path, pass: &str, plaintext: &[u8]) {
    std::fs::write(path, age_seal(pass, plaintext)).unwrap();
}

#[test]
fn every_quorum_of_every_split_up_to_five_rebuilds_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for m in 2..=5usize {
        for k in 2..=m {
            let split = Split::new(tmp.path(), &format!("k{k}m{m}"), k, m);
            let (dealt, response) = split.deal_response();
            // Exactly K parts, a different window for each case, wrapping around.
            let subset: Vec<usize> = (0..k).map(|j| (j + k + m) % m).collect();
            split
                .reconstruct(&subset, &response)
                .arg("--reveal")
                .assert()
                .success()
                .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
                .stderr(predicate::str::contains(format!(
                    "from {k} of the parts ({k} needed)"
                )));
        }
    }
}

#[test]
fn a_wrong_passphrase_is_named_and_the_others_suffice() {
    let (tmp, split, dealt, response) = exported("wrong", 2, 3);
    let bad = passphrase_file(tmp.path(), "bad.pass", "not the passphrase");
    // Custodian wrong-c1's part with a wrong passphrase file, given after the others.
    let part = split.part(0);
    let wrong = ["--decryption-key", s(&part), "--passphrase-file", s(&bad)];
    split
        .reconstruct(&[1, 2], &response)
        .args(wrong)
        .arg("--reveal")
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
        .stderr(shown("wrong-c1 ("))
        .stderr(shown("decryption-key-part.age): wrong passphrase"));
    // With only one other part the wrong passphrase leaves too few: a threshold error.
    split
        .reconstruct(&[1], &response)
        .args(wrong)
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "1 good custody part(s), 2 needed; set aside: wrong-c1",
        ));
}

#[test]
fn a_part_of_another_ceremony_is_named_and_not_used() {
    let (tmp, split, dealt, response) = exported("this", 2, 3);
    let other = Split::new(tmp.path(), "other", 2, 3);
    let foreign = format!(
        "other-c1 ({}): it belongs to another ceremony ({})",
        s(&other.part(0)),
        other.request.ceremony_id
    );
    let run = |parts: &[(&Split, usize)]| {
        let mut cmd = offline();
        cmd.args(["reconstruct", "--response", s(&response), "--reveal"]);
        for (owner, i) in parts {
            cmd.args(["--decryption-key", s(&owner.part(*i))]);
            cmd.args(["--passphrase-file", s(&owner.passes[*i])]);
        }
        cmd
    };
    run(&[(&other, 0), (&split, 1), (&split, 2)])
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
        .stderr(shown(foreign.clone()));
    run(&[(&split, 1), (&other, 0)])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("1 good custody part(s), 2 needed"))
        .stderr(shown(foreign));
    // custody verify binds a part to its request.
    other
        .verify(0)
        .args(["--request", s(&split.request_path())])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("belongs to another ceremony"));
}

#[test]
fn a_modified_share_is_caught_by_the_commitments() {
    let (_tmp, split, dealt, response) = exported("mod", 2, 3);
    let pass = "the passphrase of mod-c2";
    let mut part: serde_json::Value =
        serde_json::from_slice(&age_open(&split.part(1), pass)).unwrap();
    let share = part["share"].as_str().unwrap().to_owned();
    // Change the last hex digit: still a valid scalar, but not f(i).
    let last = share.chars().last().unwrap();
    let changed = format!("{}{}", &share[..63], if last == '0' { '1' } else { '0' });
    part["share"] = changed.into();
    seal(
        &split.part(1),
        pass,
        &serde_json::to_vec_pretty(&part).unwrap(),
    );
    split
        .verify(1)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "custodian mod-c2's part: its share does not match its commitments (the part was modified)",
        ));
    split
        .reconstruct(&[0, 1, 2], &response)
        .arg("--reveal")
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
        .stderr(predicate::str::contains("mod-c2 ("))
        .stderr(predicate::str::contains("(the part was modified)"));
    split
        .reconstruct(&[1, 2], &response)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("1 good custody part(s), 2 needed"));
}

#[test]
fn fewer_than_the_quorum_is_a_clear_threshold_error() {
    let (_tmp, split, _, response) = exported("short", 3, 4);
    split
        .reconstruct(&[0, 3], &response)
        .arg("--json")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(r#""kind":"threshold""#))
        .stderr(predicate::str::contains("2 good custody part(s), 3 needed"));
    // One part alone is recognised as a part by its name.
    split
        .reconstruct(&[2], &response)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("1 good custody part(s), 3 needed"));
}

#[test]
fn custody_verify_checks_one_part_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let split = Split::new(tmp.path(), "alone", 2, 2);
    split
        .verify(1)
        .args(["--request", s(&split.request_path())])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Custodian    alone-c2 (part 2 of 2)",
        ))
        .stderr(predicate::str::contains(format!(
            "Ceremony     {}",
            split.request.ceremony_id
        )))
        .stderr(predicate::str::contains(
            split.request.encryption_key_fingerprint.as_str(),
        ))
        .stderr(predicate::str::contains(
            "Bound        to the encryption key",
        ));
    // inspect says what a part is without trying to open it.
    offline()
        .args(["inspect", s(&split.part(0))])
        .assert()
        .code(8)
        .stderr(
            predicate::str::contains("an age-encrypted file")
                .and(predicate::str::contains("custody verify")),
        );
    offline()
        .args(["custody", "verify", s(&split.part(1))])
        .args(["--passphrase-file", s(&split.passes[0])])
        .assert()
        .code(5);
    offline()
        .args(["custody", "verify", s(&split.part(1))])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("no terminal"));
}

#[test]
fn a_part_sealed_to_an_age_recipient_opens_with_its_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let identity_file = tmp.path().join("bob.identity.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &identity_file,
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
    }
    let dir = tmp.path().join("ceremony");
    let alice = passphrase_file(tmp.path(), "alice.pass", "alice's long passphrase");
    offline()
        .args(["init", "--key-id", "key-01custody", "--out", s(&dir)])
        .args([
            "--scheme",
            "CGGMP24:secp256k1",
            "--custodians",
            "2",
            "--quorum",
            "2",
        ])
        .args(["--custodian-label", "alice", "--custodian-label", "bob"])
        .args([
            "--custodian-recipient",
            &format!("bob={}", identity.to_public()),
        ])
        .args(["--passphrase-file", s(&alice)])
        .assert()
        .success();
    let transcript = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    assert!(transcript.contains(&identity.to_public().to_string()));
    let response = tmp.path().join("response.json");
    let dealt = deal_raw_response(&dir, &response);
    let bob = dir.join("bob.decryption-key-part.age");
    offline()
        .args([
            "custody",
            "verify",
            s(&bob),
            "--identity",
            s(&identity_file),
        ])
        .assert()
        .success();
    // Alice's part opens with her passphrase, Bob's with his identity.
    let alice_part = dir.join("alice.decryption-key-part.age");
    let parts = [
        "--decryption-key",
        s(&alice_part),
        "--passphrase-file",
        s(&alice),
        "--decryption-key",
        s(&bob),
    ];
    let identity = ["--identity", s(&identity_file)];
    offline()
        .args(["reconstruct", "--response", s(&response), "--reveal"])
        .args(parts)
        .args(identity)
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()));
    // `sign` opens the same parts the same way: the signature is the one of the key itself
    // (deterministic nonces).
    let digest = "5a17".repeat(16);
    let from_key = sign_with_the_key(tmp.path(), &dealt, &response, &digest)
        .output()
        .unwrap();
    assert!(from_key.status.success());
    offline()
        .args(["sign", "--blind", "--yes", "--response", s(&response)])
        .args(parts)
        .args(identity)
        .args(["--scheme", "ecdsa-secp256k1", "--message-hex", &digest])
        .assert()
        .success()
        .stdout(String::from_utf8(from_key.stdout).unwrap());
    // Without the identity bob's part is set aside, by name.
    offline()
        .args(["reconstruct", "--response", s(&response)])
        .args(parts)
        .assert()
        .code(4)
        .stderr(
            predicate::str::contains("bob (").and(predicate::str::contains(
                "sealed to an age recipient, and no --identity was given",
            )),
        );
}

#[test]
fn sign_rebuilds_the_key_from_custody_parts() {
    let (tmp, split, dealt, response) = exported("signing", 2, 3);
    let digest = "4f1c".repeat(16);
    let mut from_parts = offline();
    from_parts.args(["sign", "--blind", "--yes", "--response", s(&response)]);
    for i in [2, 0] {
        from_parts.args(["--decryption-key", s(&split.part(i))]);
        from_parts.args(["--passphrase-file", s(&split.passes[i])]);
    }
    let signed = from_parts
        .args(["--scheme", "ecdsa-secp256k1", "--message-hex", &digest])
        .output()
        .unwrap();
    crate::common::assert_success(&signed);
    assert!(String::from_utf8_lossy(&signed.stderr).contains("from 2 of the parts"));
    // Deterministic nonces: the same signature as from the key itself.
    sign_with_the_key(tmp.path(), &dealt, &response, &digest)
        .assert()
        .success()
        .stdout(String::from_utf8(signed.stdout).unwrap());
}

#[test]
fn destroy_removes_the_parts_used_after_the_key_is_written() {
    let (tmp, split, dealt, response) = exported("gone", 2, 3);
    let out = tmp.path().join("key.hex");
    split
        .reconstruct(&[0, 2], &response)
        .args(["--out", s(&out), "--destroy-decryption-key"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Destroyed"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        dealt.private_key.to_hex().as_str()
    );
    assert!(!split.part(0).exists() && !split.part(2).exists());
    assert!(
        split.part(1).exists(),
        "an unused part is the custodian's to destroy"
    );
    let transcript = std::fs::read_to_string(split.dir.join("transcript.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    let destroyed: Vec<&str> = last["destroyed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(destroyed.len(), 2);
    assert!(destroyed[0].ends_with("gone-c1.decryption-key-part.age"));
    // The destroyed files (recorded by init and by reconstruct) are reported as gone,
    // which does not fail the transcript.
    offline()
        .args(["transcript", "verify", s(&split.dir)])
        .assert()
        .success()
        .stderr(predicate::str::contains("4 gone"))
        .stderr(predicate::str::contains("gone: ").and(predicate::str::contains("problem").not()));
    // Without --out there is nothing safe to destroy after: refused by the parser.
    split
        .reconstruct(&[1], &response)
        .arg("--destroy-decryption-key")
        .assert()
        .code(2);
}

#[test]
fn bad_custody_settings_are_refused_before_any_key_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = passphrase_file(tmp.path(), "p", "a passphrase of twenty");
    let dir = tmp.path().join("c");
    let cases: [(&[&str], i32, &str); 6] = [
        (
            &["--custodians", "3", "--quorum", "4"],
            2,
            "2 ≤ quorum ≤ custodians",
        ),
        (
            &["--custodians", "17", "--quorum", "2"],
            2,
            "invalid value '17' for '--custodians <M>': 17 is not in 2..=16",
        ),
        (
            &["--custodians", "2", "--quorum", "1"],
            2,
            "invalid value '1' for '--quorum <K>': 1 is not in 2..=16",
        ),
        (
            &[
                "--custodians",
                "2",
                "--quorum",
                "2",
                "--custodian-label",
                "a",
                "--custodian-label",
                "A",
            ],
            2,
            "given twice",
        ),
        (
            &[
                "--custodians",
                "2",
                "--quorum",
                "2",
                "--custodian-label",
                "../x",
                "--custodian-label",
                "b",
            ],
            2,
            "letters, digits",
        ),
        (&["--custodians", "2", "--quorum", "2"], 5, "no terminal"),
    ];
    for (flags, code, message) in cases {
        offline()
            .args(["init", "--key-id", "key-01custody", "--out", s(&dir)])
            .args(flags)
            .args(["--passphrase-file", s(&pass)])
            .assert()
            .code(code)
            .stderr(predicate::str::contains(message));
        assert!(!dir.exists(), "{flags:?} created the ceremony folder");
    }
}

/// A forged part for custodian `i` of `split`, as anyone holding the custodian's public age
/// recipient (here: able to seal to the custodian) can make it: a share `y` of the forger's
/// choice and `C_1 = y·G − C_0` (quorum 2), which passes the part's own check.
fn forge_part(split: &Split, i: usize, template: usize) {
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    use k256::elliptic_curve::{Field, PrimeField};
    let genuine: serde_json::Value = serde_json::from_slice(&age_open(
        &split.part(template),
        std::fs::read_to_string(&split.passes[template])
            .unwrap()
            .trim_end(),
    ))
    .unwrap();
    let c0_hex = genuine["commitments"][0].as_str().unwrap();
    let c0 = k256::PublicKey::from_sec1_bytes(&hex::decode(c0_hex).unwrap())
        .unwrap()
        .to_projective();
    let y = k256::Scalar::random(&mut OsRng);
    let index = u64::try_from(i + 1).unwrap();
    // f(i)·G = C_0 + i·C_1  ⇒  C_1 = (y·G − C_0) / i.
    let inverse = k256::Scalar::from(index).invert().unwrap();
    let c1 = (k256::ProjectivePoint::GENERATOR * y - c0) * inverse;
    let mut forged = genuine.clone();
    forged["label"] = split.labels[i].clone().into();
    forged["index"] = (i + 1).into();
    forged["commitments"] = serde_json::json!([
        c0_hex,
        hex::encode(c1.to_affine().to_encoded_point(true).as_bytes())
    ]);
    forged["share"] = hex::encode(y.to_repr()).into();
    seal(
        &split.part(i),
        std::fs::read_to_string(&split.passes[i])
            .unwrap()
            .trim_end(),
        &serde_json::to_vec_pretty(&forged).unwrap(),
    );
}

#[test]
fn a_forged_part_is_refused_by_custody_verify_and_outvoted_by_name() {
    let (tmp, split, dealt, response) = exported("forge", 2, 3);
    let recorded = split
        .request
        .custody_commitments_sha256
        .clone()
        .expect("init records the commitments in the request");
    forge_part(&split, 0, 1);
    // Alone, the forged part is self-consistent; against the request it is refused.
    split
        .verify(0)
        .args(["--request", s(&split.request_path())])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "custodian forge-c1's part: its commitments (sha256 ",
        ))
        .stderr(predicate::str::contains(format!(
            "are not the ceremony's ({}): the part was forged",
            recorded.short()
        )))
        .stderr(predicate::str::contains("Bound").not());
    // The genuine parts verify against the same request, which names their commitments.
    split
        .verify(1)
        .args(["--request", s(&split.request_path())])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("Commitments  {recorded}")));
    // Forged + two good parts: rebuilt from the two good ones, the forged one named.
    split
        .reconstruct(&[0, 1, 2], &response)
        .arg("--reveal")
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
        .stderr(shown("forge-c2, forge-c3"))
        .stderr(shown("differ from those of the 2 parts that agree"))
        .stderr(shown("forge-c1 ("));
    let transcript = std::fs::read_to_string(split.dir.join("transcript.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["custody"]["commitmentsSha256"], recorded.as_str());
    assert_eq!(lines[1]["custody"]["commitmentsSha256"], recorded.as_str());
    assert_eq!(
        lines[1]["custody"]["used"],
        serde_json::json!(["forge-c2", "forge-c3"])
    );
    // Forged + one good part (the quorum): neither can be told genuine; both named, no key.
    let out = tmp.path().join("key.hex");
    split
        .reconstruct(&[0, 2], &response)
        .args(["--out", s(&out)])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("0 good custody part(s), 2 needed"))
        .stderr(predicate::str::contains("forge-c1 ("))
        .stderr(predicate::str::contains("forge-c3 ("))
        .stderr(predicate::str::contains(
            "custody verify --request names it",
        ));
    assert!(!out.exists());
}

#[test]
fn a_request_without_commitments_cannot_vouch_for_a_part() {
    let tmp = tempfile::tempdir().unwrap();
    let split = Split::new(tmp.path(), "old", 2, 2);
    // The request as an older keyexport wrote it: no custodyCommitmentsSha256.
    let mut request: serde_json::Value = serde_json::from_slice(&split.request_bytes).unwrap();
    request
        .as_object_mut()
        .unwrap()
        .remove("custodyCommitmentsSha256")
        .expect("init wrote the digest");
    let old = tmp.path().join("old-request.json");
    std::fs::write(&old, serde_json::to_vec_pretty(&request).unwrap()).unwrap();
    split
        .verify(0)
        .args(["--request", s(&old)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "this request records no custody commitments",
        ))
        .stderr(predicate::str::contains("Bound").not());
}
