//! `dfns-sandbox serve`: the URL and credentials it prints let a client in.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use keyexport_shared::scheme::Scheme;

/// Sends one HTTP/1.0 GET and returns the status line.
fn get(url: &str, path: &str, token: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn prints_url_credentials_and_keys_that_work() {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("dfns-sandbox"))
        .args(["serve", "--credential", "secp256k1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let mut keys = Vec::new();
    let mut schemes = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("  key-") {
            let mut words = line.split_whitespace();
            keys.push(words.next().unwrap().to_owned());
            schemes.push(words.next().unwrap().to_owned());
        }
        if line.starts_with("Ready: ") {
            break;
        }
        printed.push(line);
    }
    // By default: one key per pair Dfns issues, nothing else.
    let issued: Vec<String> = Scheme::ISSUED.iter().map(ToString::to_string).collect();
    assert_eq!(schemes, issued);
    let value = |name: &str| {
        printed
            .iter()
            .find_map(|l| l.strip_prefix(&format!("export {name}='")))
            .map(|v| v.trim_end_matches('\'').to_owned())
            .unwrap()
    };
    let url = value("DFNS_API_URL");
    assert!(url.starts_with("http://127.0.0.1:"));
    assert!(value("DFNS_CRED_ID").starts_with("cr-sandbox-"));
    assert!(printed.iter().any(|l| l.contains("BEGIN PRIVATE KEY")));
    let token = value("DFNS_AUTH_TOKEN");
    assert!(get(&url, &format!("/keys/{}", keys[0]), &token).contains(" 200"));
    assert!(get(&url, &format!("/keys/{}", keys[0]), "wrong").contains(" 401"));
    assert!(get(&url, "/keys/key-unknown", &token).contains(" 404"));
    child.kill().unwrap();
    child.wait().unwrap();
}
