//! `gerbang-loadgen`: parses flags, finds or starts the relay, runs one measurement and prints
//! it. Everything else is the library.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gerbang_loadgen::target::Codes;
use gerbang_loadgen::{fanout, idle, ingest, Target};

/// Load generator for the Gerbang relay: real gates over real sockets (TCP, TLS with the
/// certificate pinned, the WebSocket protocol), measuring durable ingest, fan-out latency and
/// memory per idle connection.
///
/// By default each command starts a relay of its own on 127.0.0.1 with a fresh database
/// (in this process; `idle` starts the gerbang-relay binary, since it measures the relay's
/// process). Give --relay and --admin-token to load a running relay instead: the load
/// generator makes an event of its own there (the next free id), its tickets and its gate
/// devices, and says hello with the log's head as cursor.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: Measure,
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// A running relay: ws://127.0.0.1:PORT or wss://HOST:PORT.
    #[arg(long, global = true, requires = "admin_token")]
    relay: Option<String>,
    /// The SHA-256 fingerprint of the running relay's certificate (printed by gerbang-relay
    /// at start), for wss://.
    #[arg(long, global = true)]
    fingerprint: Option<String>,
    /// An admin device's token of the running relay (gerbang-relay writes the first one to
    /// admin-token in its data directory).
    #[arg(
        long,
        global = true,
        env = "GERBANG_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// The running relay's process id, to read its memory (idle).
    #[arg(long, global = true)]
    relay_pid: Option<u32>,
    /// Start the real gerbang-relay binary at this path in a child process, instead of a
    /// relay in this process. `idle` does so by default, with the gerbang-relay next to this
    /// executable.
    #[arg(long, global = true, conflicts_with = "relay")]
    spawn: Option<PathBuf>,
    /// The relay this starts serves plain ws:// instead of wss:// (TLS, the default).
    #[arg(long, global = true)]
    plain: bool,
}

#[derive(Debug, Subcommand)]
enum Measure {
    /// Durable ingest: scans/s with group commit (several gates, many scans in flight each)
    /// against one commit per scan (one gate, one scan at a time), run alternately.
    Ingest {
        /// Scans per group-commit run.
        #[arg(long, default_value_t = 50_000)]
        scans: usize,
        /// Gates uploading at once. Keep scans/gates under 20,000: a gate may send that many
        /// in a burst, then 5,000 a second (the relay's default limits).
        #[arg(long, default_value_t = 8)]
        gates: usize,
        /// Scans in flight per gate (the Gerbang gate's upload window is 256).
        #[arg(long, default_value_t = 256)]
        window: usize,
        /// Scans per baseline run (one at a time; slow, so fewer).
        #[arg(long, default_value_t = 2_000)]
        baseline_scans: usize,
        /// Pairs of runs (baseline, then group commit).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, value_enum, default_value_t = CodeKind::Signed)]
        codes: CodeKind,
    },
    /// Fan-out latency: from a gate sending a scan to every other gate reading its entry.
    Fanout {
        #[arg(long, default_value_t = 200)]
        gates: usize,
        /// Scans a second over all gates.
        #[arg(long, default_value_t = 2_000.0)]
        rate: f64,
        /// Seconds measured.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Seconds sent first and not measured.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long, value_enum, default_value_t = CodeKind::Signed)]
        codes: CodeKind,
    },
    /// Memory per idle connection: the relay's resident memory before and after.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Connections per device (the relay allows 4). 1 pairs a device per connection.
        #[arg(long, default_value_t = 1)]
        per_device: usize,
        /// Seconds the relay is left to settle before each reading.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        /// Which transports to measure (a relay started here; a running one is measured as it
        /// is).
        #[arg(long, value_enum, default_value_t = Transports::Both)]
        transport: Transports,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CodeKind {
    /// Gerbang's signed codes: the relay checks an Ed25519 signature per scan.
    Signed,
    /// Imported barcodes: no signature, a lookup.
    Opaque,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transports {
    Tls,
    Plain,
    Both,
}

impl From<CodeKind> for Codes {
    fn from(kind: CodeKind) -> Codes {
        match kind {
            CodeKind::Signed => Codes::Signed,
            CodeKind::Opaque => Codes::Opaque,
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let limit = gerbang_loadgen::raise_open_files_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gerbang-loadgen: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, limit)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gerbang-loadgen: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Finds or starts the relay to load.
async fn target(args: &TargetArgs, tls: bool, separate_process: bool) -> anyhow::Result<Target> {
    if let Some(address) = &args.relay {
        let token = args
            .admin_token
            .as_deref()
            .context("--relay needs --admin-token")?;
        return Ok(Target::remote(
            address,
            args.fingerprint.as_deref(),
            token,
            args.relay_pid,
        )?);
    }
    let binary = match (&args.spawn, separate_process) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(
            std::env::current_exe()?
                .parent()
                .context("this executable has no directory")?
                .join("gerbang-relay"),
        ),
        (None, false) => None,
    };
    Ok(match binary {
        Some(path) => {
            if !path.exists() {
                bail!(
                    "{} does not exist: build it (cargo build --release -p gerbang-relay) or \
                     give --spawn PATH",
                    path.display()
                );
            }
            tokio::task::spawn_blocking(move || Target::spawn(&path, tls)).await??
        }
        None => Target::in_process(tls).await?,
    })
}

fn describe(target: &Target) -> String {
    let mode = if target.address.starts_with("wss") {
        "TLS"
    } else {
        "plain"
    };
    format!("{} ({mode})", target.address)
}

async fn run(cli: Cli, limit: u64) -> anyhow::Result<()> {
    let args = &cli.target;
    match cli.command {
        Measure::Ingest {
            scans,
            gates,
            window,
            baseline_scans,
            runs,
            codes,
        } => {
            let target = target(args, !args.plain, false).await?;
            let tickets = runs * (scans + baseline_scans);
            println!(
                "durable ingest on {}: setting up {tickets} {codes:?} tickets and {gates} gates",
                describe(&target)
            );
            let setup = target.prepare(tickets, codes.into(), gates).await?;
            let mut codes = setup.codes.chunks(1);
            let mut take = |n: usize| -> Vec<String> {
                codes.by_ref().take(n).map(|c| c[0].clone()).collect()
            };
            let (mut base_rates, mut group_rates) = (Vec::new(), Vec::new());
            for run in 1..=runs {
                let base = ingest::run(
                    &target,
                    setup.event_id,
                    &setup.tokens,
                    &take(baseline_scans),
                    ingest::Load {
                        gates: 1,
                        window: 1,
                    },
                )
                .await?;
                let group = ingest::run(
                    &target,
                    setup.event_id,
                    &setup.tokens,
                    &take(scans),
                    ingest::Load { gates, window },
                )
                .await?;
                println!(
                    "run {run}: one commit per scan {:>8.0} scans/s ({} scans) | group commit {:>8.0} scans/s ({} scans, {gates} gates x {window} in flight) | ratio {:.1}x",
                    base.per_second(),
                    base.scans,
                    group.per_second(),
                    group.scans,
                    group.per_second() / base.per_second()
                );
                for (name, result) in [("one commit per scan", &base), ("group commit", &group)] {
                    if let Some((process, writer)) = result.cpu_per_scan() {
                        println!(
                            "  {name}: relay CPU per scan {:.1} µs, of which the writer thread {:.1} µs",
                            process.as_secs_f64() * 1e6,
                            writer.as_secs_f64() * 1e6
                        );
                    }
                }
                for (name, result) in [("baseline", &base), ("group", &group)] {
                    if result.acks != result.scans
                        || result.verdicts.get("admitted") != Some(&result.scans)
                    {
                        println!(
                            "  {name}: {} acks for {} scans, verdicts {:?}",
                            result.acks, result.scans, result.verdicts
                        );
                    }
                }
                base_rates.push(base.per_second());
                group_rates.push(group.per_second());
            }
            println!(
                "median: one commit per scan {:.0} scans/s, group commit {:.0} scans/s, ratio {:.1}x",
                median(&base_rates),
                median(&group_rates),
                median(&group_rates) / median(&base_rates)
            );
            target.stop().await;
        }
        Measure::Fanout {
            gates,
            rate,
            seconds,
            warmup,
            codes,
        } => {
            let target = target(args, !args.plain, false).await?;
            let plan = fanout::Plan {
                gates,
                rate,
                duration: Duration::from_secs_f64(seconds),
                warmup: Duration::from_secs_f64(warmup),
            };
            println!(
                "fan-out on {}: setting up {} {codes:?} tickets and {gates} gates",
                describe(&target),
                plan.scans()
            );
            let setup = target.prepare(plan.scans(), codes.into(), gates).await?;
            let spread =
                fanout::run(&target, setup.event_id, &setup.tokens, &setup.codes, plan).await?;
            println!(
                "{} scans measured at {:.0} scans/s over {gates} gates ({} deliveries missing)",
                spread.scans, spread.achieved_rate, spread.missing
            );
            println!("  sent -> every other gate has it: {}", spread.all_gates);
            println!("  sent -> one gate has it:         {}", spread.deliveries);
            println!("  sent -> ack at the sender:       {}", spread.acks);
            if let Some((cpu, over)) = spread.relay_cpu {
                println!(
                    "  relay CPU: {:.0}% of one core (writer thread {:.0}%)",
                    cpu.process.as_secs_f64() / over.as_secs_f64() * 100.0,
                    cpu.writer.as_secs_f64() / over.as_secs_f64() * 100.0
                );
            }
            target.stop().await;
        }
        Measure::Idle {
            connections,
            per_device,
            settle,
            transport,
        } => {
            println!("open files allowed in this process: {limit}");
            let modes: &[bool] = match (&args.relay, transport) {
                (Some(address), _) => {
                    if address.starts_with("wss") {
                        &[true]
                    } else {
                        &[false]
                    }
                }
                (None, Transports::Tls) => &[true],
                (None, Transports::Plain) => &[false],
                (None, Transports::Both) => &[true, false],
            };
            for &tls in modes {
                let target = target(args, tls, true).await?;
                let devices = connections.div_ceil(per_device.max(1));
                println!(
                    "idle connections on {}: pairing {devices} gate devices",
                    describe(&target)
                );
                let tokens = target.pair_gates(devices).await?;
                let measured = idle::run(
                    &target,
                    &tokens,
                    connections,
                    per_device,
                    Duration::from_secs_f64(settle),
                )
                .await?;
                println!(
                    "  {} idle connections: relay RSS {:.1} MiB -> {:.1} MiB, {:.1} KiB per connection",
                    measured.connections,
                    measured.before as f64 / 1048576.0,
                    measured.after as f64 / 1048576.0,
                    measured.per_connection() / 1024.0
                );
                target.stop().await;
            }
        }
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}
