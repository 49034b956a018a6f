//! `palisade`: start the server, and administer a running one the way the Azure portal's
//! App registrations and Users blades do.

mod admin;
mod demo;
mod output;
mod security;
mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use palisade_server::Config;

use crate::output::{Out, Output};

#[derive(Parser)]
#[command(name = "palisade", version, about = "A self-hosted Microsoft Entra ID + Defender for Endpoint API platform", long_about = None)]
struct Cli {
    /// TOML configuration file (default: ./palisade.toml when it exists).
    #[arg(long, global = true, env = "PALISADE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: embedded store, keys, TLS material.
    #[arg(long, global = true, env = "PALISADE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Output format of every command.
    #[arg(long, global = true, value_enum, default_value = "text", env = "PALISADE_OUTPUT")]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start Palisade (HTTPS) on its embedded store.
    Serve(ServeArgs),
    /// Print where the local CA certificate is and how to make clients trust it.
    Ca,
    /// Inspect tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage token-signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Manage tenants (directories).
    #[command(subcommand)]
    Tenant(admin::TenantCmd),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCmd),
    /// Manage app registrations: the portal's "App registrations" blade.
    #[command(subcommand)]
    App(admin::AppCmd),
    /// Manage security groups (Defender RBAC is granted to groups).
    #[command(subcommand)]
    Group(security::GroupCmd),
    /// Defender RBAC: roles, device groups, turning RBAC on.
    #[command(subcommand)]
    Rbac(security::RbacCmd),
    /// Load a deterministic sample fleet (machines, alerts, incidents) into a tenant.
    Seed {
        #[command(flatten)]
        t: admin::TenantArg,
        #[arg(long, default_value_t = 50)]
        machines: usize,
        #[arg(long, default_value_t = 200)]
        alerts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Days of history.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// One command to try Palisade: server, demo tenant, an app ready to use, a simulated fleet with
    /// a week of telemetry and incidents, and the commands to paste.
    Demo(demo::DemoArgs),
    /// Simulate a fleet on a running server: devices, benign telemetry and attack storylines whose
    /// alerts, incidents and hunting rows agree.
    Simulate(demo::SimulateArgs),
    /// Load telemetry (NDJSON or Arrow IPC) into an advanced hunting table of a tenant.
    Ingest(telemetry::IngestArgs),
    /// Inject faults into the Defender API for a tenant or one application (test retry logic).
    #[command(subcommand)]
    Faults(admin::FaultsCmd),
    /// Show the audit trail of Defender API calls (newest first).
    Audit {
        /// Only this tenant (id, domain or name).
        #[arg(long, env = "PALISADE_TENANT")]
        tenant: Option<String>,
        /// Only calls of the last N minutes.
        #[arg(long)]
        since_minutes: Option<u32>,
        #[arg(long, default_value_t = 50)]
        top: u32,
        #[command(flatten)]
        conn: admin::Conn,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (repeatable, or comma-separated in PALISADE_LISTEN).
    #[arg(long, env = "PALISADE_LISTEN", value_delimiter = ',')]
    listen: Vec<SocketAddr>,
    /// Log format.
    #[arg(long, env = "PALISADE_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Log filter (tracing syntax), e.g. `info` or `debug,hyper=info`.
    #[arg(long, env = "PALISADE_LOG")]
    log: Option<String>,
    /// Do not create the Contoso demo tenant on an empty directory.
    #[arg(long, env = "PALISADE_NO_DEMO")]
    no_demo: bool,
    /// Drop-in mode: serve the Microsoft host names through a CONNECT proxy port on this address
    /// (then run clients with HTTPS_PROXY=http://ADDR and Palisade's CA trusted).
    #[arg(long, env = "PALISADE_DROP_IN_LISTEN")]
    drop_in_listen: Option<SocketAddr>,
    /// Extra DNS names or IPs for the server certificate (repeatable).
    #[arg(long, env = "PALISADE_TLS_NAMES", value_delimiter = ',')]
    tls_name: Vec<String>,
    /// Run as an API-only node that trusts the identity provider publishing its keys at this URL.
    ///
    /// E.g. https://idp.example:8443/common/discovery/v2.0/keys (another Palisade) or
    /// https://login.microsoftonline.com/common/discovery/v2.0/keys. The node serves only
    /// /healthz, the Defender API (/api, /api/v1.0) and download links; tokens are issued
    /// elsewhere. Keys are cached and fetched again hourly and on an unknown kid (at most once
    /// every 30 s; see [api_node] in docs/configuration.md).
    #[arg(long, env = "PALISADE_JWKS_URL", value_name = "URL", help_heading = "API-only node")]
    jwks_url: Option<String>,
    /// CA certificate(s) (PEM) that the JWKS URL's TLS certificate chains to.
    ///
    /// For a Palisade identity provider: its <data-dir>/tls/ca.pem. For a public provider: the
    /// system bundle, e.g. /etc/ssl/certs/ca-certificates.crt. Required for https, since Palisade
    /// carries no root store of its own.
    #[arg(long, env = "PALISADE_JWKS_CA_FILE", value_name = "PEM", help_heading = "API-only node")]
    jwks_ca_file: Option<PathBuf>,
    /// Base URL whose v2 issuer ({base}/{tenant}/v2.0) is trusted (default: the JWKS URL's origin).
    ///
    /// Repeatable, or comma-separated in PALISADE_ISSUER_BASES. The v1 issuer
    /// https://sts.windows.net/{tenant}/ is always trusted.
    #[arg(
        long = "issuer-base",
        env = "PALISADE_ISSUER_BASES",
        value_delimiter = ',',
        value_name = "URL",
        help_heading = "API-only node"
    )]
    issuer_bases: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Decode a JWT, verify its signature against the server's JWKS, and show roles/scp/tid/expiry.
    Decode {
        /// The token (or `-` to read it from standard input).
        token: String,
        #[command(flatten)]
        conn: admin::Conn,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Add a new signing key; older keys stay published until the tokens they signed expire.
    Rotate {
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// List signing keys.
    List {
        #[command(flatten)]
        conn: admin::Conn,
    },
}

/// file < environment < flags.
fn load_config(cli: &Cli) -> Result<Config> {
    let path = cli.config.clone().or_else(|| {
        let p = PathBuf::from("palisade.toml");
        p.exists().then_some(p)
    });
    let mut cfg = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading config file {}", p.display()))?;
            toml::from_str::<Config>(&text)
                .with_context(|| format!("parsing config file {} (see docs/configuration.md)", p.display()))?
        }
        None => Config::default(),
    };
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(cli: &Cli, args: &ServeArgs, out: &Out) -> Result<()> {
    let mut cfg = load_config(cli)?;
    if !args.listen.is_empty() {
        cfg.listen = args.listen.clone();
    }
    if args.drop_in_listen.is_some() {
        cfg.drop_in_listen = args.drop_in_listen;
    }
    if args.no_demo {
        cfg.demo = false;
    }
    cfg.tls_extra_names.extend(args.tls_name.iter().cloned());
    if let Some(url) = &args.jwks_url {
        let node = cfg.api_node.get_or_insert_with(|| palisade_server::config::ApiNodeSettings::new(url.clone()));
        node.jwks_url = url.clone();
    }
    match cfg.api_node.as_mut() {
        Some(node) => {
            if let Some(ca) = &args.jwks_ca_file {
                node.ca_file = Some(ca.clone());
            }
            if !args.issuer_bases.is_empty() {
                node.issuer_bases = args.issuer_bases.clone();
            }
        }
        None if args.jwks_ca_file.is_some() || !args.issuer_bases.is_empty() => {
            bail!(
                "--jwks-ca-file and --issuer-base configure an API-only node: give --jwks-url (or [api_node] jwks_url) too"
            )
        }
        None => {}
    }
    let format = args.log_format.unwrap_or(if cfg.log.format == "json" { LogFormat::Json } else { LogFormat::Text });
    init_logging(format, args.log.as_deref().unwrap_or(&cfg.log.filter));

    let prepared = palisade_server::prepare(&cfg).await.context("starting Palisade")?;
    let running = palisade_server::start(&prepared, &cfg).await?;
    let data_dir = std::fs::canonicalize(&cfg.data_dir).unwrap_or(cfg.data_dir.clone());
    let trusts = cfg.api_node.as_ref().map(|n| n.jwks_url.as_str());
    out.banner(&running.addrs, running.drop_in_addr, &data_dir, &prepared.tls, prepared.first_run.as_ref(), trusts);
    tracing::info!(addrs = ?running.addrs, data_dir = %data_dir.display(), api_node = trusts.is_some(), "palisade started");

    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown(Duration::from_secs(10)).await;
    tracing::info!("stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn ca(cli: &Cli, out: &Out) -> Result<()> {
    let cfg = load_config(cli)?;
    let tls = palisade_crypto::tls::TlsPaths::new(&cfg.data_dir);
    if !tls.ca_cert.exists() {
        bail!(
            "no CA at {} yet: start Palisade once with `palisade serve --data-dir {}`",
            tls.ca_cert.display(),
            cfg.data_dir.display()
        );
    }
    let ca_path = std::fs::canonicalize(&tls.ca_cert)?;
    // Clients that take one bundle (requests, httpx) need the system roots too, or every other
    // HTTPS call they make breaks.
    let bundle = tls.dir.join("ca-bundle.pem");
    let mut contents = String::new();
    for sys in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"] {
        if let Ok(s) = std::fs::read_to_string(sys) {
            contents.push_str(&s);
            if !s.ends_with('\n') {
                contents.push('\n');
            }
            break;
        }
    }
    contents.push_str(&std::fs::read_to_string(&ca_path)?);
    std::fs::write(&bundle, contents)?;
    let bundle = std::fs::canonicalize(&bundle)?;
    out.ca(&ca_path, &bundle);
    Ok(())
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let out = Out::new(cli.output);
    let result = match &cli.command {
        Command::Serve(a) => serve(&cli, a, &out).await,
        Command::Ca => ca(&cli, &out),
        Command::Token(TokenCmd::Decode { token, conn }) => {
            admin::decode_token(&cli_config(&cli), conn, token, &out).await
        }
        Command::Keys(KeysCmd::Rotate { conn }) => admin::rotate_keys(&cli_config(&cli), conn, &out).await,
        Command::Keys(KeysCmd::List { conn }) => admin::list_keys(&cli_config(&cli), conn, &out).await,
        Command::Tenant(c) => admin::tenant(&cli_config(&cli), c, &out).await,
        Command::User(c) => admin::user(&cli_config(&cli), c, &out).await,
        Command::App(c) => admin::app(&cli_config(&cli), c, &out).await,
        Command::Faults(c) => admin::faults(&cli_config(&cli), c, &out).await,
        Command::Group(c) => security::group(&cli_config(&cli), c, &out).await,
        Command::Rbac(c) => security::rbac(&cli_config(&cli), c, &out).await,
        Command::Seed { t, machines, alerts, seed, days } => {
            security::seed(&cli_config(&cli), t, *machines, *alerts, *seed, *days, &out).await
        }
        Command::Ingest(a) => telemetry::ingest(&cli_config(&cli), a, &out).await,
        Command::Simulate(a) => demo::simulate(&cli_config(&cli), a, &out).await,
        Command::Demo(a) => {
            let cfg = cli_config(&cli);
            init_logging(LogFormat::Text, "warn");
            demo::demo(cfg, a, &out).await
        }
        Command::Audit { tenant, since_minutes, top, conn } => {
            admin::audit(&cli_config(&cli), conn, tenant.as_deref(), *since_minutes, *top, &out).await
        }
    };
    if let Err(e) = result {
        out.error(&e);
        std::process::exit(1);
    }
}

fn cli_config(cli: &Cli) -> Config {
    match load_config(cli) {
        Ok(c) => c,
        Err(e) => {
            Out::new(cli.output).error(&e);
            std::process::exit(2);
        }
    }
}
