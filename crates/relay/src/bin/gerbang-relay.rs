//! `gerbang-relay`: parses flags, prepares the data directory (database, admin token, TLS
//! certificate), binds, and runs the relay until Ctrl-C or SIGTERM. Everything else is the
//! library.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use gerbang_core::protocol::Role;
use gerbang_relay::{Config, Location, Relay, TlsIdentity};

/// The port a relay listens on unless told otherwise.
const DEFAULT_PORT: u16 = 8420;

/// The Gerbang relay: the event log every gate and supervisor screen syncs with.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where the database, the admin token and the TLS certificate live.
    #[arg(long, env = "GERBANG_RELAY_DATA")]
    data_dir: Option<PathBuf>,
    /// Address and port to listen on.
    #[arg(long, env = "GERBANG_RELAY_LISTEN", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Serve plain ws/http instead of wss/https. Allowed on a loopback address; elsewhere only
    /// with --force-plain.
    #[arg(long)]
    plain: bool,
    /// Serve plain ws/http on a non-loopback address (tokens then cross the network unencrypted).
    #[arg(long, requires = "plain")]
    force_plain: bool,
    /// Log filter, e.g. "info" or "gerbang_relay=debug".
    #[arg(long, env = "GERBANG_RELAY_LOG", default_value = "info")]
    log: String,
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(
            std::env::var_os("HOME")
                .context("neither XDG_DATA_HOME nor HOME is set; pass --data-dir")?,
        )
        .join(".local/share"),
    };
    Ok(base.join("gerbang-relay"))
}

/// Writes the admin token to a file only its owner can read.
fn write_secret(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gerbang-relay: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole chain of causes on one line, without a backtrace.
            eprintln!("gerbang-relay: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).context("bad --log filter")?,
        )
        .init();

    if args.plain && !args.listen.ip().is_loopback() && !args.force_plain {
        bail!(
            "refusing to serve plain ws/http on {}: device tokens would cross the network \
             unencrypted. Leave out --plain to serve TLS, listen on 127.0.0.1, or add \
             --force-plain if this network is trusted",
            args.listen
        );
    }

    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    // The address gates are told to use: where the relay listens, or for 0.0.0.0 the address
    // this machine is reached at.
    let advertised = gerbang_relay::embedded::advertised_host(args.listen.ip());
    let mut config = Config::new(Location::file(gerbang_relay::embedded::database(&data_dir)));
    if !args.plain {
        let mut names = vec![args.listen.ip()];
        if let Ok(ip) = advertised.trim_matches(['[', ']']).parse::<IpAddr>() {
            names.push(ip);
        }
        config.tls = Some(
            TlsIdentity::load_or_create(&data_dir, &names)
                .context("cannot set up the relay's TLS certificate")?,
        );
    }
    let relay = Relay::open(config)
        .with_context(|| format!("cannot open the relay database in {}", data_dir.display()))?;
    let admin = relay.admin();

    let token_file = data_dir.join("admin-token");
    if !token_file.exists() {
        let (_, token) = admin.create_device("admin", Role::Admin)?;
        write_secret(&token_file, &token)?;
        println!("First start: the admin token is {token}");
        println!(
            "  (saved in {}, readable only by you; it is not shown again)",
            token_file.display()
        );
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let code = admin.create_pairing_code(Role::Gate)?;
    println!("Data in {}", data_dir.display());
    let fingerprint = relay.fingerprint().map(str::to_owned);
    if let Some(fp) = &fingerprint {
        let path = data_dir.join(gerbang_relay::tls::CERT_FILE);
        println!(
            "TLS certificate {} with SHA-256 fingerprint {fp}",
            path.display()
        );
    }
    let scheme = if args.plain { "ws" } else { "wss" };
    let link = gerbang_core::pairing::PairingLink {
        relay: format!("{scheme}://{advertised}:{}", addr.port()),
        code: code.clone(),
        fingerprint,
    };
    println!("Pair a gate with code {code} (valid 15 minutes): {link}");
    // Last, so a process that waits for this line has read everything above.
    println!(
        "Gerbang relay listening on {}{}",
        relay.address(addr),
        gerbang_core::protocol::WS_PATH
    );

    relay.serve(listener, shutdown_signal()).await?;
    println!("Gerbang relay stopped; everything acknowledged is on disk.");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
