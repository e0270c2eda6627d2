//! Benchmark of a batch ceremony: 1,000 keys (every protocol × curve in turn)
//! through the sandbox end to end with the real binaries, printing the figures recorded in
//! `docs/batch.md`.
//!
//! `cargo bench -p sandbox --bench batch` (release build; `KEYEXPORT_BENCH_KEYS=N` for
//! another size; `KEYEXPORT_BENCH_PARALLEL=N` for `submit --parallel N`;
//! `KEYEXPORT_BENCH_SCRYPT_LOG_N=N` seals the decryption key with another
//! scrypt work factor, to separate the batch's own cost from the unsealing). Steps: the sandbox deals the keys; `keyexport-offline init` writes the
//! batch request (the standard scrypt work factor); `keyexport-online submit --rate
//! unlimited` exports every key; `keyexport-offline reconstruct --response DIR --out DIR`
//! rebuilds and verifies them all. For each binary: wall time, CPU time (user + system) and
//! peak resident memory (`VmHWM`), sampled from `/proc` every 2 ms until the process exits.
//! The online overhead per key is the submit's wall time minus the time the sandbox spent
//! answering (its own measure of every request), divided by the keys.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyexport_shared::scheme::Scheme;
use sandbox::binaries::{Build, ensure_built};
use sandbox::{KeySpec, Sandbox, SandboxConfig};

/// What one run of a binary cost.
struct Cost {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

/// Runs `command` (stdout and stderr into files in `dir`), sampling its `/proc` entry.
fn measure(mut command: Command, dir: &Path, name: &str) -> anyhow::Result<Cost> {
    let stdout = std::fs::File::create(dir.join(format!("{name}.stdout")))?;
    let stderr = std::fs::File::create(dir.join(format!("{name}.stderr")))?;
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()?;
    let proc_dir = format!("/proc/{}", child.id());
    let (mut peak_rss_kib, mut cpu_ticks) = (0u64, 0u64);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(format!("{proc_dir}/status")) {
            peak_rss_kib = peak_rss_kib.max(field_kib(&text, "VmHWM:"));
        }
        if let Ok(text) = std::fs::read_to_string(format!("{proc_dir}/stat")) {
            cpu_ticks = cpu_ticks.max(cpu_ticks_of(&text));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    anyhow::ensure!(
        status.success(),
        "{name} failed ({status}); see {}",
        dir.join(format!("{name}.stderr")).display()
    );
    Ok(Cost {
        wall,
        // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ).
        cpu: Duration::from_millis(cpu_ticks * 10),
        peak_rss_kib,
    })
}

fn field_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a `/proc/PID/stat` line (fields 14 and 15, after the command name).
fn cpu_ticks_of(stat: &str) -> u64 {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    tick(11) + tick(12)
}

fn row(step: &str, cost: &Cost) {
    println!(
        "{step:<34} wall {:>8.3} s   cpu {:>8.3} s   peak RSS {:>7.1} MB",
        cost.wall.as_secs_f64(),
        cost.cpu.as_secs_f64(),
        cost.peak_rss_kib as f64 / 1024.0
    );
}

fn main() -> anyhow::Result<()> {
    let keys: usize = std::env::var("KEYEXPORT_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let binaries = ensure_built(&["keyexport-offline", "keyexport-online"], Build::Always)?;
    let (offline, online) = (&binaries[0], &binaries[1]);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "Batch benchmark: {keys} keys, {cores} core(s), binaries in {}",
        offline
            .parent()
            .map_or(String::new(), |p| p.display().to_string())
    );

    let schemes = Scheme::all();
    let specs: Vec<KeySpec> = (0..keys)
        .map(|i| {
            let mut spec = KeySpec::new(schemes[i % schemes.len()]);
            spec.id = Some(format!("key-bench-{i:05}"));
            spec
        })
        .collect();
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig::with_keys(specs))?;
    println!(
        "{:<34} wall {:>8.3} s",
        "sandbox: deal the keys",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let list: String = sandbox
        .keys()
        .iter()
        .map(|k| format!("{}\n", k.id))
        .collect();
    std::fs::write(dir.path().join("keys.txt"), list)?;
    std::fs::write(dir.path().join("pass.txt"), "bench passphrase\n")?;
    let ceremony = dir.path().join("ceremony");
    anyhow::ensure!(
        std::env::var_os("KEYEXPORT_BENCH_SCRYPT_LOG_N").is_none(),
        "KEYEXPORT_BENCH_SCRYPT_LOG_N is no longer supported: the release binaries have no switch to lower the scrypt work factor"
    );
    println!("decryption key sealed with scrypt 2^18 (standard)");

    let mut init = Command::new(offline);
    init.env("KEYEXPORT_ALLOW_ONLINE", "1")
        .arg("init")
        .arg("--key-ids-file")
        .arg(dir.path().join("keys.txt"))
        .arg("--out")
        .arg(&ceremony)
        .arg("--passphrase-file")
        .arg(dir.path().join("pass.txt"));
    let init_cost = measure(init, dir.path(), "init")?;

    let mut submit = Command::new(online);
    for name in ["DFNS_PRIVATE_KEY_FILE", "DFNS_API_URL"] {
        submit.env_remove(name);
    }
    submit
        .envs(sandbox.env())
        .arg("submit")
        .arg("--request")
        .arg(ceremony.join("request.json"))
        .args(["--yes", "--json", "--rate", "unlimited"]);
    // `KEYEXPORT_BENCH_PARALLEL=N`: keys exported at once (default: submit's own default).
    let parallel = std::env::var("KEYEXPORT_BENCH_PARALLEL").ok();
    if let Some(n) = &parallel {
        submit.args(["--parallel", n]);
    }
    println!(
        "submit --parallel {}",
        parallel.as_deref().unwrap_or("(default)")
    );
    let submit_cost = measure(submit, dir.path(), "submit")?;
    let requests = sandbox.requests();
    let server: Duration = requests.iter().map(|r| r.handled_in).sum();
    let exported = requests
        .iter()
        .filter(|r| r.path.ends_with("/export") && r.status == 200)
        .count();
    anyhow::ensure!(
        exported == keys,
        "only {exported} of {keys} keys exported; see {}",
        dir.path().join("submit.stderr").display()
    );

    let mut reconstruct = Command::new(offline);
    reconstruct
        .env("KEYEXPORT_ALLOW_ONLINE", "1")
        .arg("reconstruct")
        .arg("--decryption-key")
        .arg(ceremony.join("decryption-key.age"))
        .arg("--passphrase-file")
        .arg(dir.path().join("pass.txt"))
        .arg("--response")
        .arg(ceremony.join("responses"))
        .arg("--out")
        .arg(dir.path().join("keys"));
    let reconstruct_cost = measure(reconstruct, dir.path(), "reconstruct")?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("keys/manifest.json"))?)?;
    let verified = manifest["keys"]
        .as_array()
        .map_or(0, |k| k.iter().filter(|k| k["status"] == "ok").count());
    anyhow::ensure!(verified == keys, "only {verified} of {keys} keys verified");

    row("offline init (seal the key)", &init_cost);
    row("online submit (rate unlimited)", &submit_cost);
    row("offline reconstruct (unseal+all)", &reconstruct_cost);
    let per_key = |d: Duration| d.as_secs_f64() * 1000.0 / keys as f64;
    let overhead = submit_cost.wall.saturating_sub(server);
    println!(
        "submit: {} API calls, sandbox busy {:.3} s ({:.2} ms/key); client overhead {:.3} s = {:.2} ms/key (goal < 5 ms)",
        requests.len(),
        server.as_secs_f64(),
        per_key(server),
        overhead.as_secs_f64(),
        per_key(overhead)
    );
    println!(
        "reconstruct: {verified} keys rebuilt and verified in {:.3} s (goal < 5 s), CPU/wall {:.2} on {cores} core(s)",
        reconstruct_cost.wall.as_secs_f64(),
        reconstruct_cost.cpu.as_secs_f64() / reconstruct_cost.wall.as_secs_f64()
    );
    let peak = [&init_cost, &submit_cost, &reconstruct_cost]
        .iter()
        .map(|c| c.peak_rss_kib)
        .max()
        .unwrap_or(0);
    println!(
        "peak memory of any binary: {:.1} MB (goal < 200 MB)",
        peak as f64 / 1024.0
    );
    Ok(())
}
