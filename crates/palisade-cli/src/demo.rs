//! `palisade demo`: a server with the Contoso demo tenant, an app ready to use, a simulated fleet
//! with a week of telemetry and incidents, live activity, and the commands to call it; and
//! `palisade simulate`, which runs a simulation on a running server.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use palisade_directory::{PermissionKind, SignInAudience};
use palisade_identity::admin::NewApplication;
use palisade_identity::bootstrap::DEMO_TENANT_DOMAIN;
use palisade_server::Config;
use palisade_server::simulation::SimulationRequest;
use serde_json::{Value, json};

use crate::admin::{Client, TenantArg, tid};
use crate::output::Out;

#[derive(clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub t: TenantArg,
    /// Devices in the fleet.
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    /// Days of history.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Same seed and options, same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First simulated instant (RFC 3339); default: --days before now.
    #[arg(long)]
    pub start: Option<String>,
    /// Benign sensor events per device per hour.
    #[arg(long, default_value_t = 60)]
    pub rate: u32,
    /// No attack storylines (benign telemetry only).
    #[arg(long)]
    pub no_attacks: bool,
    /// Keep the fleet reporting in real time afterwards (resumed when the server restarts).
    #[arg(long)]
    pub live: bool,
}

impl SimulateArgs {
    fn request(&self) -> SimulationRequest {
        SimulationRequest {
            devices: self.devices,
            days: self.days,
            seed: self.seed,
            start: self.start.clone(),
            events_per_device_hour: self.rate,
            attacks: !self.no_attacks,
            live: self.live,
        }
    }
}

fn bar(out: &Out) -> ProgressBar {
    let bar = if out.is_json() { ProgressBar::hidden() } else { ProgressBar::new(1) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:12} {bar:40} {pos}/{len} units, {prefix} rows ({elapsed})")
            .expect("valid template"),
    );
    bar
}

fn show(bar: &ProgressBar, s: &Value) {
    bar.set_message(s["phase"].as_str().unwrap_or("").to_string());
    bar.set_length(s["unitsTotal"].as_u64().unwrap_or(0).max(1));
    bar.set_position(s["unitsDone"].as_u64().unwrap_or(0));
    bar.set_prefix(s["rowsWritten"].as_u64().unwrap_or(0).to_string());
    bar.tick();
}

/// `palisade simulate`: starts the run on the server and follows it.
pub async fn simulate(cfg: &Config, a: &SimulateArgs, out: &Out) -> Result<()> {
    let c = Client::new(cfg, &a.t.conn)?;
    let tenant = tid(&c.tenant(a.t.tenant.as_deref()).await?);
    let path = format!("/palisade/v1/tenants/{tenant}/simulation");
    let body = serde_json::to_value(a.request())?;
    c.call("organizations", reqwest::Method::POST, &path, Some(body)).await?;
    let bar = bar(out);
    let status = loop {
        let s = c.call("organizations", reqwest::Method::GET, &path, None).await?;
        show(&bar, &s);
        match s["phase"].as_str() {
            Some("done") => break s,
            Some("failed") => {
                bar.abandon();
                bail!("simulation failed: {}", s["error"].as_str().unwrap_or("unknown error"));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    };
    bar.finish_and_clear();
    out.emit(&status, || {
        format!(
            "Simulated {} devices over {} days in tenant {tenant}: {} telemetry rows, {} alerts in {} incidents ({:.1} s){}.",
            status["machines"],
            a.days,
            status["rowsWritten"],
            status["alerts"],
            status["incidents"],
            status["seconds"].as_f64().unwrap_or(0.0),
            if a.live { "; live activity continues on the server" } else { "" }
        )
    });
    Ok(())
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address to serve HTTPS on (repeatable; default from config, 127.0.0.1:8443).
    #[arg(long)]
    pub listen: Vec<std::net::SocketAddr>,
    /// Devices in the demo fleet.
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    /// Days of history.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Permissions of the demo app: what the documentation's samples call.
const DEMO_ROLES: &[(&str, &str)] = &[
    ("WindowsDefenderATP", "Alert.ReadWrite.All"),
    ("WindowsDefenderATP", "Machine.ReadWrite.All"),
    ("WindowsDefenderATP", "Machine.Isolate"),
    ("WindowsDefenderATP", "Machine.Scan"),
    ("WindowsDefenderATP", "Machine.CollectForensics"),
    ("WindowsDefenderATP", "AdvancedQuery.Read.All"),
    ("WindowsDefenderATP", "Ti.ReadWrite.All"),
    ("WindowsDefenderATP", "File.Read.All"),
    ("WindowsDefenderATP", "Ip.Read.All"),
    ("WindowsDefenderATP", "Url.Read.All"),
    ("WindowsDefenderATP", "User.Read.All"),
    ("WindowsDefenderATP", "Palisade.Ingest.All"),
    ("Microsoft Threat Protection", "Incident.ReadWrite.All"),
    ("Microsoft Threat Protection", "AdvancedHunting.Read.All"),
];

/// `palisade demo`.
pub async fn demo(mut cfg: Config, a: &DemoArgs, out: &Out) -> Result<()> {
    let started = Instant::now();
    cfg.demo = true;
    if !a.listen.is_empty() {
        cfg.listen = a.listen.clone();
    }
    let prepared = palisade_server::prepare(&cfg).await.context("starting Palisade")?;
    let running = palisade_server::start(&prepared, &cfg).await?;
    let state = &prepared.state;
    let identity = &state.identity;
    let tenant =
        identity.stores.directory.tenant_by_domain(DEMO_TENANT_DOMAIN).await?.context(
            "this data directory has tenants but no Contoso demo tenant: use an empty --data-dir for the demo",
        )?;

    // An app ready to use, with a fresh secret (secrets are shown once).
    let app = identity
        .register_application(
            &tenant,
            NewApplication {
                display_name: "Palisade demo app".into(),
                sign_in_audience: SignInAudience::AzureADMyOrg,
                web_redirect_uris: vec![],
                public_client_redirect_uris: vec![],
                spa_redirect_uris: vec![],
                is_fallback_public_client: false,
                identifier_uris: vec![],
                create_service_principal: true,
            },
        )
        .await?;
    let mut app = app;
    for (api, role) in DEMO_ROLES {
        app = identity.add_api_permission(&tenant, &app, api, role, Some(PermissionKind::Role)).await?;
    }
    let perms = identity.requested_permissions(&tenant, &app, None).await?;
    identity.grant_admin_consent(&tenant, &app, &perms, None).await?;
    let (_, secret) = identity.add_password(&tenant, &app, Some("demo".into()), None).await?;

    // The fleet: simulated once per data directory; later starts resume its live activity.
    let mut sim = Value::Null;
    if palisade_server::simulation::runs(&cfg.data_dir, tenant.id).is_empty() {
        let req = SimulationRequest {
            devices: a.devices,
            days: a.days,
            seed: a.seed,
            live: true,
            ..SimulationRequest::default()
        };
        palisade_server::simulation::start(
            &state.simulations,
            state.simulation_target(),
            tenant.id,
            &tenant.default_domain,
            req,
        )?;
        let bar = bar(out);
        loop {
            let s = serde_json::to_value(state.simulations.status(tenant.id))?;
            show(&bar, &s);
            match s["phase"].as_str() {
                Some("done") => {
                    sim = s;
                    break;
                }
                Some("failed") => bail!("demo simulation failed: {}", s["error"]),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        bar.finish_and_clear();
    }

    let port = running.addrs[0].port();
    let base = if port == 443 { "https://localhost".to_string() } else { format!("https://localhost:{port}") };
    let ca = std::fs::canonicalize(&prepared.tls.ca_cert).unwrap_or(prepared.tls.ca_cert.clone());
    let (app_id, tid) = (app.app_id, tenant.id);
    let token = |scope: &str| {
        format!(
            "curl -s --cacert {ca} -d grant_type=client_credentials -d client_id={app_id} -d client_secret='{secret}' \
             -d scope={scope}/.default {base}/{tid}/oauth2/v2.0/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'",
            ca = ca.display()
        )
    };
    let commands = vec![
        format!("export MDE_TOKEN=$({})", token("https://api.securitycenter.microsoft.com")),
        format!(
            "curl -s --cacert {} -H \"Authorization: Bearer $MDE_TOKEN\" '{base}/api/alerts?$top=5&$expand=evidence'",
            ca.display()
        ),
        format!(
            "curl -s -G --cacert {} -H \"Authorization: Bearer $MDE_TOKEN\" '{base}/api/machines' --data-urlencode \"\\$filter=riskScore eq 'High'\"",
            ca.display()
        ),
        format!("export M365_TOKEN=$({})", token("https://api.security.microsoft.com")),
        format!("curl -s --cacert {} -H \"Authorization: Bearer $M365_TOKEN\" '{base}/api/incidents'", ca.display()),
    ];
    let ready_secs = started.elapsed().as_secs_f64();
    let doc = json!({
        "ready": true,
        "readySeconds": (ready_secs * 10.0).round() / 10.0,
        "url": base,
        "caCertificate": ca,
        "tenantId": tid,
        "clientId": app_id,
        "clientSecret": secret,
        "simulation": sim,
        "commands": commands,
    });
    out.emit(&doc, || {
        let mut t = format!(
            "Palisade demo ready in {ready_secs:.1} s at {base}\n  tenant    {tid} (contoso.onmicrosoft.com)\n  client id {app_id}\n  secret    {secret}\n  CA        {}\n",
            ca.display()
        );
        if !sim.is_null() {
            t.push_str(&format!(
                "  fleet     {} devices, {} days: {} telemetry rows, {} alerts in {} incidents (live activity continues)\n",
                sim["machines"], a.days, sim["rowsWritten"], sim["alerts"], sim["incidents"]
            ));
        }
        t.push_str("\nPaste these:\n\n");
        t.push_str(&commands.join("\n\n"));
        t.push_str("\n\nCtrl-C stops the server; `palisade demo` again resumes where it left off.");
        t
    });
    crate::shutdown_signal().await;
    running.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
