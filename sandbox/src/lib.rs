//! A Dfns-compatible API on loopback, for rehearsals and tests.
//!
//! [`Sandbox::start`] binds `127.0.0.1` (port 0 picks a free one), serves the auth
//! endpoints (user-action signatures verified for real), `GET /keys/{id}`,
//! `POST /keys/{id}/export` (real encrypted shares from `keyexport-shared`'s dealer, one
//! export per key), `POST /keys` (a new key from the same dealer, as the canary ceremony
//! creates its throwaway key) and `DELETE /keys/{id}`, injects the configured [`Fault`]s,
//! and stops when dropped.
//! The `dfns-sandbox` binary wraps it and adds the `rehearse` command.

pub mod auth;
pub mod binaries;
pub mod config;
pub mod credentials;
pub mod keystore;
pub mod routes;

use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keyexport_shared::chain_code::ChainCode;
use keyexport_shared::scheme::Scheme;
use zeroize::Zeroizing;

use crate::auth::{AuthState, Permission};
pub use crate::config::{FailStatus, Fault, KeySpec, KeysFile, Route, SandboxConfig};
pub use crate::credentials::{CredentialKind, TestCredential};
use crate::keystore::KeyRecord;
use crate::routes::{Incoming, State};

/// The largest request body read.
const MAX_BODY: u64 = 1 << 20;

/// A request the sandbox answered, for tests to check what the client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// Time the sandbox spent on it, from receipt to the answer being ready (an injected
    /// delay excluded): the "server's time" that benchmarks subtract from the client's.
    pub handled_in: Duration,
}

/// A key as the sandbox lists it.
#[derive(Debug, Clone)]
pub struct KeySummary {
    /// Key id.
    pub id: String,
    /// Protocol and curve.
    pub scheme: Scheme,
    /// Threshold and signers.
    pub min_signers: usize,
    /// Signers.
    pub signers: usize,
    /// Public key hex.
    pub public_key: String,
    /// Whether it was exported.
    pub exported: bool,
    /// Whether it is an HD master key (`masterKey: true`, a chain code in every share).
    pub master_key: bool,
    /// Whether it was deleted (`DELETE /keys/{keyId}`).
    pub deleted: bool,
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    url: String,
    token: String,
    expired_token: String,
    credential: TestCredential,
    state: Arc<Mutex<State>>,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sandbox {
    /// Creates the keys and credential and starts serving on loopback.
    pub fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let specs = if config.keys.is_empty() {
            Scheme::ISSUED.into_iter().map(KeySpec::new).collect()
        } else {
            config.keys.clone()
        };
        let keys = specs
            .iter()
            .map(KeyRecord::create)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        ids.sort_unstable();
        anyhow::ensure!(ids.windows(2).all(|w| w[0] != w[1]), "two keys share an id");
        let credential =
            TestCredential::generate(&auth::random_text("cr-sandbox-", 9), config.credential)?;
        let mut permissions = vec![
            Permission::KeysRead,
            Permission::KeysExport,
            Permission::KeysCreate,
            Permission::KeysDelete,
        ];
        if config.has(&Fault::MissingCreatePermission) {
            permissions.retain(|p| *p != Permission::KeysCreate);
        }
        let (auth, token, expired_token) = AuthState::new(credential.clone(), permissions);
        let server = tiny_http::Server::http(("127.0.0.1", config.port))
            .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow::anyhow!("the server is not on an IP address"))?;
        let server = Arc::new(server);
        let delays: Vec<(Route, Duration)> = config
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Delay { route, delay } => Some((*route, *delay)),
                _ => None,
            })
            .collect();
        let state = Arc::new(Mutex::new(State {
            auth,
            keys,
            faults: config.faults,
        }));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, state, log, stop) =
                (server.clone(), state.clone(), log.clone(), stop.clone());
            std::thread::spawn(move || serve(&server, &state, &log, &stop, &delays))
        };
        Ok(Sandbox {
            url: format!("http://{address}"),
            token,
            expired_token,
            credential,
            state,
            log,
            server,
            stop,
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A valid bearer token with `Keys:Read`, `Keys:Export`, `Keys:Create` and
    /// `Keys:Delete` (without `Keys:Create` under [`Fault::MissingCreatePermission`]).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A bearer token that is known but expired (HTTP 401).
    pub fn expired_token(&self) -> &str {
        &self.expired_token
    }

    /// The test user's credential.
    pub fn credential(&self) -> &TestCredential {
        &self.credential
    }

    /// The environment `keyexport-online` reads, pointing at this sandbox.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DFNS_API_URL", self.url.clone()),
            ("DFNS_AUTH_TOKEN", self.token.clone()),
            ("DFNS_CRED_ID", self.credential.id().to_owned()),
            ("DFNS_PRIVATE_KEY", self.credential.private_pem().to_owned()),
        ]
    }

    /// The keys, in config order.
    pub fn keys(&self) -> Vec<KeySummary> {
        lock(&self.state)
            .keys
            .iter()
            .map(|k| KeySummary {
                id: k.id.clone(),
                scheme: k.scheme,
                min_signers: k.min_signers,
                signers: k.signers,
                public_key: k.public_key.to_hex(),
                exported: k.exported,
                master_key: k.chain_code.is_some(),
                deleted: k.deleted,
            })
            .collect()
    }

    /// A key's private scalar (hex), to compare with what the ceremony rebuilt.
    pub fn private_key_hex(&self, id: &str) -> Option<Zeroizing<String>> {
        lock(&self.state)
            .keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.private_key.to_hex())
    }

    /// A key's chain code (an HD master key's), to compare with what the ceremony rebuilt;
    /// `None` for an ordinary key or an unknown id.
    pub fn chain_code(&self, id: &str) -> Option<ChainCode> {
        lock(&self.state)
            .keys
            .iter()
            .find(|k| k.id == id)
            .and_then(|k| k.chain_code.clone())
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // A panicked server thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// The server loop: one request at a time, until stopped.
fn serve(
    server: &tiny_http::Server,
    state: &Mutex<State>,
    log: &Mutex<Vec<LoggedRequest>>,
    stop: &AtomicBool,
    delays: &[(Route, Duration)],
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut request) = server.recv() else {
            continue;
        };
        let received = Instant::now();
        let header = |name: &'static str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str().to_owned())
        };
        let path = request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut incoming = Incoming {
            method: request.method().as_str().to_owned(),
            path,
            authorization: header("Authorization"),
            user_action: header("X-DFNS-USERACTION"),
            body: Vec::new(),
        };
        let read = request
            .as_reader()
            .take(MAX_BODY)
            .read_to_end(&mut incoming.body);
        let outgoing = match read {
            Ok(_) => routes::handle(&mut lock(state), &incoming),
            Err(_) => routes::Outgoing::error(400, "cannot read the request body"),
        };
        lock(log).push(LoggedRequest {
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            status: outgoing.status,
            handled_in: received.elapsed(),
        });
        // Fault responder `Delay`: the request was processed; the answer comes late.
        if let Some((route, _)) = routes::route_of(&incoming.method, &incoming.path)
            && let Some((_, delay)) = delays.iter().find(|(r, _)| *r == route)
        {
            std::thread::sleep(*delay);
        }
        let mut response = tiny_http::Response::from_data(outgoing.body)
            .with_status_code(outgoing.status)
            .with_header(json_header("Content-Type", "application/json"));
        for (name, value) in &outgoing.headers {
            response = response.with_header(json_header(name, value));
        }
        // The client may have given up (timeouts); nothing to do about it here.
        let _ = request.respond(response);
    }
}

fn json_header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values here are ASCII without newlines")
}
