//! `lifeos-bench`: the same load, over loopback, against the LifeOS relay
//! and the automerge-repo reference sync server (`bench/reference`), each a
//! process of its own; prints a markdown table with ratios and can write it,
//! with an SVG chart, into docs/ (`bench/run.sh` does all of it).
//!
//! ```text
//! lifeos-bench --relay target/release/lifeos-relay --reference bench/reference \
//!     [--postgres postgres://postgres@127.0.0.1:5432/DB]
//!     [--scenarios fanout,users,idle,cold,throughput,reconnect]
//!     [--seconds 20] [--writers 32] [--users 1000] [--idle 10000] [--changes 100000] [--docs DIR]
//! ```
//!
//! Each scenario starts each server fresh, runs for a fixed time, and stops
//! it. Ours runs on Postgres when `--postgres` names an (empty) database,
//! else on SQLite; the reference server stores files, as it ships.

mod chart;
mod device;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use scenarios::Measured;
use server::Server;

struct Options {
    relay: PathBuf,
    reference: PathBuf,
    postgres: Option<String>,
    scenarios: Vec<String>,
    seconds: u64,
    writers: usize,
    users: usize,
    idle: usize,
    changes: usize,
    docs: Option<PathBuf>,
}

/// Every scenario, in the order of the table.
const SCENARIOS: [&str; 6] = ["fanout", "users", "idle", "cold", "throughput", "reconnect"];

const USAGE: &str = "usage: lifeos-bench --relay PATH --reference DIR [--postgres URL] \
[--scenarios fanout,users,idle,cold,throughput,reconnect] [--seconds N] [--writers N] [--users N] \
[--idle N] [--changes N] [--docs DIR]";

fn options() -> Result<Options, String> {
    let mut o = Options {
        relay: PathBuf::from("target/release/lifeos-relay"),
        reference: PathBuf::from("bench/reference"),
        postgres: None,
        scenarios: SCENARIOS.map(String::from).to_vec(),
        seconds: 20,
        writers: 32,
        users: 1_000,
        idle: 10_000,
        changes: 100_000,
        docs: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--relay" => o.relay = value()?.into(),
            "--reference" => o.reference = value()?.into(),
            "--postgres" => o.postgres = Some(value()?),
            "--scenarios" => o.scenarios = value()?.split(',').map(str::to_string).collect(),
            "--seconds" => o.seconds = number(value()?)?.max(1),
            "--writers" => o.writers = number(value()?)?.max(2) as usize,
            "--users" => o.users = number(value()?)?.max(1) as usize,
            "--idle" => o.idle = number(value()?)?.max(1) as usize,
            "--changes" => o.changes = number(value()?)?.max(2) as usize,
            "--docs" => o.docs = Some(value()?.into()),
            _ => return Err(USAGE.to_string()),
        }
    }
    for s in &o.scenarios {
        if !SCENARIOS.contains(&s.as_str()) {
            return Err(format!("unknown scenario {s:?}\n{USAGE}"));
        }
    }
    // Each server runs in a directory of its own: relative paths given here
    // (`target/release/lifeos-relay`) would name nothing there.
    let absolute = |path: &PathBuf, what: &str| {
        std::fs::canonicalize(path).map_err(|e| format!("{what} {}: {e}", path.display()))
    };
    o.relay = absolute(&o.relay, "--relay")?;
    o.reference = absolute(&o.reference, "--reference")?;
    Ok(o)
}

async fn run(o: &Options) -> Vec<(Measured, Measured)> {
    let mut rows = Vec::new();
    for scenario in &o.scenarios {
        let mut pair = Vec::new();
        for ours in [true, false] {
            let server = if ours {
                // A cold sync must load the document from the database:
                // idle documents leave the relay's memory after 1 s.
                let env: &[(&str, &str)] = match scenario.as_str() {
                    "cold" => &[("LIFEOS_DOC_IDLE_SECS", "1")],
                    _ => &[],
                };
                Server::ours(&o.relay, o.postgres.as_deref(), env)
            } else {
                Server::reference(&o.reference)
            };
            eprintln!("running {scenario} against {}", server.kind.name());
            let m = match scenario.as_str() {
                "fanout" => scenarios::fanout(&server, o.writers, o.seconds).await,
                "users" => scenarios::many_users(&server, o.users, o.seconds).await,
                "idle" => scenarios::idle(&server, o.idle).await,
                "cold" => {
                    scenarios::cold_sync(&server, o.changes, 10, Duration::from_secs(3)).await
                }
                "throughput" => scenarios::throughput(&server, 64, o.seconds.min(10)).await,
                _ => scenarios::reconnect(&server, 500).await,
            };
            server.stop();
            // A fresh Postgres database per run of ours would need DDL
            // rights here; the relay's data is per user, and each run uses
            // users of its own, so runs do not see each other's documents.
            pair.push(m);
        }
        let reference = pair.pop().expect("two runs");
        let ours = pair.pop().expect("two runs");
        rows.push((ours, reference));
    }
    rows
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn ratio(ours: f64, reference: f64) -> String {
    if reference <= 0.0 {
        "–".into()
    } else {
        format!("{:.2}", ours / reference)
    }
}

/// The comparison as markdown: one row per scenario and server, then the
/// ratios (ours / reference; below 1 is better for latency and CPU, above
/// 1 for throughput).
fn table(rows: &[(Measured, Measured)]) -> String {
    let mut out = String::from(
        "| scenario | server | p50 | p95 | p99 | throughput | server CPU | load generator CPU | server peak RSS | what was measured |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (ours, reference) in rows {
        for m in [ours, reference] {
            let [p50, p95, p99] = m
                .latency
                .map(|l| l.map(ms))
                .unwrap_or_else(|| ["–".into(), "–".into(), "–".into()]);
            let throughput = m.throughput.map_or("–".into(), |t| format!("{t:.0}/s"));
            out.push_str(&format!(
                "| {} | {} | {p50} | {p95} | {p99} | {throughput} | {:.2} s | {:.2} s | {:.0} MB | {} |\n",
                m.scenario, m.server, m.cpu, m.own_cpu, m.peak_rss, m.detail
            ));
        }
    }
    out.push_str("\n| scenario | p50 ratio | p99 ratio | throughput ratio | CPU ratio | peak RSS ratio |\n|---|---|---|---|---|---|\n");
    for (ours, reference) in rows {
        let l = |m: &Measured, i: usize| m.latency.map_or(0.0, |l| l[i]);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            ours.scenario,
            ratio(l(ours, 0), l(reference, 0)),
            ratio(l(ours, 2), l(reference, 2)),
            ratio(
                ours.throughput.unwrap_or(0.0),
                reference.throughput.unwrap_or(0.0)
            ),
            ratio(ours.cpu, reference.cpu),
            ratio(ours.peak_rss, reference.peak_rss),
        ));
    }
    out
}

/// Replaces the part of docs/benchmarks.md between the markers with `body`.
fn write_docs(dir: &std::path::Path, body: &str, svg: &str) -> std::io::Result<()> {
    const BEGIN: &str = "<!-- bench/run.sh: begin -->";
    const END: &str = "<!-- bench/run.sh: end -->";
    std::fs::create_dir_all(dir.join("img"))?;
    std::fs::write(dir.join("img/bench-compare.svg"), svg)?;
    let path = dir.join("benchmarks.md");
    let text = std::fs::read_to_string(&path)?;
    let section = format!(
        "{BEGIN}\n{body}\n![p50 and p99 latency per scenario, both servers](img/bench-compare.svg)\n{END}"
    );
    let text = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &text[..b], &text[e + END.len()..]),
        _ => format!("{text}\n{section}\n"),
    };
    std::fs::write(path, text)
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rows = runtime.block_on(run(&o));
    let when = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let body = format!(
        "Measured {when} by `bench/run.sh` on this machine (2 cores; load generator and server share them).\n\n{}",
        table(&rows)
    );
    println!("{body}");
    if let Some(dir) = &o.docs {
        if let Err(e) = write_docs(dir, &body, &chart::svg(&rows)) {
            eprintln!("cannot write {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        eprintln!(
            "wrote {}/benchmarks.md and {}/img/bench-compare.svg",
            dir.display(),
            dir.display()
        );
    }
    ExitCode::SUCCESS
}
