//! The `palisade` binary as a user runs it: `serve` in its own process, the administration
//! commands against it, and what ends up in logs and in the data directory.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

struct Server {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
    base: String,
    banner: Value,
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-cli-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    fn start() -> Self {
        let root = tmpdir("srv");
        let dir = root.join("data");
        let log = root.join("server.log");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data-dir",
                dir.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--output",
                "json",
                "--log",
                "debug",
                "--log-format",
                "json",
            ])
            .env_remove("PALISADE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // The banner is one JSON document on stdout.
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut buf = String::new();
        let banner: Value = loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "server exited before its banner; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            buf.push_str(&line);
            if let Ok(v) = serde_json::from_str(&buf) {
                break v;
            }
        };
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = reader.read_to_string(&mut sink);
        });
        let base = banner["urls"][0].as_str().unwrap().to_string();
        Self { child, dir, log, base, banner }
    }

    fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(BIN)
            .args(args)
            .args(["--data-dir", self.dir.to_str().unwrap(), "--server", &self.base, "--output", "json"])
            .env_remove("PALISADE_TENANT")
            .output()
            .unwrap();
        assert!(out.status.success(), "palisade {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("palisade {args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn cli_err(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .args(["--data-dir", self.dir.to_str().unwrap(), "--server", &self.base])
            .output()
            .unwrap();
        assert!(!out.status.success(), "palisade {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn http(&self) -> reqwest::blocking::Client {
        let ca = std::fs::read(self.dir.join("tls/ca.pem")).unwrap();
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap()
    }

    /// SIGTERM, and the server must drain and exit 0 promptly.
    fn stop(mut self) -> (PathBuf, PathBuf) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "graceful shutdown exits 0, got {status}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "server did not stop within 15 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        (self.dir, self.log)
    }
}

fn token(http: &reqwest::blocking::Client, base: &str, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http.post(format!("{base}/{tenant}/oauth2/v2.0/token")).form(form).send().unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn portal_steps_from_the_cli_and_no_secret_in_clear() {
    let s = Server::start();
    let first = s.banner["firstRun"].clone();
    assert_eq!(first["tenantDomain"], "contoso.onmicrosoft.com");
    let admin_password = first["adminPassword"].as_str().unwrap().to_string();
    let tid = first["tenantId"].as_str().unwrap().to_string();

    // The seed page's portal steps, as commands.
    let reg = s.cli(&[
        "app",
        "register",
        "--name",
        "Partner SOC",
        "--audience",
        "multi",
        "--redirect-uri",
        "web:https://portal.azure.com",
    ]);
    let app_id = reg["application"]["appId"].as_str().unwrap().to_string();
    assert_eq!(reg["tenantId"], tid.as_str());
    assert_eq!(reg["application"]["signInAudience"], "AzureADMultipleOrgs");
    s.cli(&[
        "app",
        "permission",
        "add",
        "--app",
        &app_id,
        "--api",
        "WindowsDefenderATP",
        "--permission",
        "Alert.Read.All",
        "--type",
        "application",
    ]);
    let consent = s.cli(&["app", "consent", "--app", &app_id]);
    assert_eq!(consent["appRolesGranted"], serde_json::json!(["Alert.Read.All"]));
    let sec = s.cli(&["app", "secret", "add", "--app", &app_id, "--description", "ci"]);
    let secret = sec["passwordCredential"]["secretText"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 40);
    // The CLI follows the portal's recommended 180 days.
    let end = sec["passwordCredential"]["endDateTime"].as_str().unwrap();
    let end = time::OffsetDateTime::parse(end, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!((end - time::OffsetDateTime::now_utc()).whole_days(), 179);
    let show = s.cli(&["app", "show", "--app", &app_id]);
    assert_eq!(show["application"]["passwordCredentials"][0]["secretText"], Value::Null);
    let link = s.cli(&["app", "consent-link", "--app", &app_id]);
    assert!(link["consentLink"].as_str().unwrap().ends_with(&format!(
        "/common/oauth2/authorize?prompt=consent&client_id={app_id}&response_type=code&sso_reload=true"
    )));

    // Certificates: upload one and check the thumbprints it reports.
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["cli.example".into()]).unwrap().self_signed(&kp).unwrap();
    let cert_path = s.dir.parent().unwrap().join("client.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    let added = s.cli(&["app", "cert", "add", "--app", &app_id, "--cert", cert_path.to_str().unwrap()]);
    assert_eq!(added["thumbprint"].as_str().unwrap().len(), 40);

    // Tenants and users.
    let fab = s.cli(&["tenant", "create", "--name", "Fabrikam"]);
    assert_eq!(fab["verifiedDomains"][0]["name"], "fabrikam.onmicrosoft.com");
    let user = s.cli(&[
        "user",
        "create",
        "--tenant",
        "fabrikam.onmicrosoft.com",
        "--upn",
        "ga@fabrikam.onmicrosoft.com",
        "--role",
        "Global Administrator",
    ]);
    let user_password = user["passwordProfile"]["password"].as_str().unwrap().to_string();
    let err =
        s.cli_err(&["user", "create", "--tenant", "fabrikam.onmicrosoft.com", "--upn", "x@contoso.onmicrosoft.com"]);
    assert!(err.contains("verified domain"), "{err}");
    let err = s.cli_err(&[
        "app",
        "permission",
        "add",
        "--app",
        &app_id,
        "--api",
        "WindowsDefenderATP",
        "--permission",
        "Alert.Reed.All",
        "--type",
        "application",
    ]);
    assert!(err.contains("Known:") && err.contains("Alert.Read.All"), "{err}");

    // An operator consents a multi-tenant app (registered in Contoso) in the customer's tenant.
    let consent_b = s.cli(&["app", "consent", "--tenant", "fabrikam.onmicrosoft.com", "--app", &app_id]);
    assert_eq!(consent_b["appRolesGranted"], serde_json::json!(["Alert.Read.All"]));
    assert_eq!(consent_b["createdServicePrincipal"], true);

    // Use the credentials: the secret, the admin's password (ROPC through a public client), a wrong password.
    let http = s.http();
    let (st, b) = token(
        &http,
        &s.base,
        &tid,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ],
    );
    assert_eq!(st, 200, "{b}");
    let fab_id = fab["id"].as_str().unwrap();
    let (st_b, b_fab) = token(
        &http,
        &s.base,
        fab_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ],
    );
    assert_eq!(st_b, 200, "{b_fab}");
    let decoded_fab = s.cli(&["token", "decode", b_fab["access_token"].as_str().unwrap()]);
    assert_eq!(decoded_fab["claims"]["tid"], fab_id);
    // A Defender API call with a token lacking Ti permissions: refused, and audited.
    let r =
        http.get(format!("{}/api/indicators", s.base)).bearer_auth(b["access_token"].as_str().unwrap()).send().unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let trail = s.cli(&["audit", "--tenant", &tid, "--since-minutes", "5"]);
    let rec = &trail["value"][0];
    assert_eq!(
        (rec["path"].as_str(), rec["status"].as_u64(), rec["appId"].as_str()),
        (Some("/api/indicators"), Some(403), Some(app_id.as_str()))
    );
    // Fault injection from the CLI: forced throttling for this app, then cleared.
    let set = s.cli(&["faults", "set", "--tenant", &tid, "--app", &app_id, "--throttle"]);
    assert_eq!(set["plan"]["throttle"], true);
    let r =
        http.get(format!("{}/api/indicators", s.base)).bearer_auth(b["access_token"].as_str().unwrap()).send().unwrap();
    assert_eq!(r.status().as_u16(), 429);
    s.cli(&["faults", "clear", "--tenant", &tid, "--app", &app_id]);
    let r =
        http.get(format!("{}/api/indicators", s.base)).bearer_auth(b["access_token"].as_str().unwrap()).send().unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let decoded = s.cli(&["token", "decode", b["access_token"].as_str().unwrap()]);
    assert_eq!(decoded["signature"], "verified");
    assert_eq!(decoded["claims"]["roles"], serde_json::json!(["Alert.Read.All"]));
    let native = s.cli(&["app", "register", "--name", "Native", "--public-client"]);
    let native_id = native["application"]["appId"].as_str().unwrap().to_string();
    s.cli(&[
        "app",
        "permission",
        "add",
        "--app",
        &native_id,
        "--api",
        "WindowsDefenderATP",
        "--permission",
        "Alert.Read",
        "--type",
        "delegated",
    ]);
    s.cli(&["app", "consent", "--app", &native_id]);
    let ropc = |pw: &str| {
        token(
            &http,
            &s.base,
            &tid,
            &[
                ("grant_type", "password"),
                ("client_id", &native_id),
                ("username", "admin@contoso.onmicrosoft.com"),
                ("password", pw),
                ("scope", "https://api.securitycenter.microsoft.com/.default openid"),
            ],
        )
    };
    assert_eq!(ropc(&admin_password).0, 200);
    let wrong = "Wrong-Password-Attempt-42";
    assert_eq!(ropc(wrong).1["error_codes"][0], 50126);

    // Block sign-in, then allow it again with a new password (printed once).
    let blocked = s.cli(&["user", "update", "--upn", "admin@contoso.onmicrosoft.com", "--disable"]);
    assert_eq!(blocked["accountEnabled"], false);
    assert_eq!(ropc(&admin_password).1["error_codes"][0], 50057);
    let reset = s.cli(&["user", "update", "--upn", "admin@contoso.onmicrosoft.com", "--enable", "--reset-password"]);
    let new_password = reset["passwordProfile"]["password"].as_str().unwrap().to_string();
    assert_eq!(ropc(&admin_password).1["error_codes"][0], 50126, "the old password is gone");
    assert_eq!(ropc(&new_password).0, 200);

    // Removing the secret stops it working.
    let key_id = sec["passwordCredential"]["keyId"].as_str().unwrap().to_string();
    s.cli(&["app", "secret", "remove", "--app", &app_id, "--key-id", &key_id]);
    let (st, b) = token(
        &http,
        &s.base,
        &tid,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ],
    );
    assert_eq!((st, b["error_codes"][0].as_u64()), (401, Some(7000215)));

    // Keys.
    let before = s.cli(&["keys", "list"]);
    assert_eq!(before["value"].as_array().unwrap().len(), 1);
    let rotated = s.cli(&["keys", "rotate"]);
    let after = s.cli(&["keys", "list"]);
    assert_eq!(after["value"].as_array().unwrap().len(), 2);
    assert!(after["value"].as_array().unwrap().iter().any(|k| k["kid"] == rotated["kid"] && k["active"] == true));

    let (dir, log) = s.stop();

    // Nothing secret in clear: not in the logs (debug level), not in any file of the data directory.
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("token issued"), "the log was captured");
    let needles = [secret.as_str(), admin_password.as_str(), user_password.as_str(), new_password.as_str(), wrong];
    for n in needles {
        assert!(!log_text.contains(n), "a secret or password appears in the server log");
    }
    for f in files_under(&dir) {
        let bytes = std::fs::read(&f).unwrap();
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "a secret or password appears in clear in {}",
                f.display()
            );
        }
    }
}

#[test]
fn config_precedence_file_then_env_then_flag() {
    let root = tmpdir("cfg");
    let cfg = root.join("palisade.toml");
    std::fs::write(&cfg, "data_dir = \"/nonexistent/from-file\"\n").unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut c = Command::new(BIN);
        c.args(["ca", "--config", cfg.to_str().unwrap()]).env_remove("PALISADE_DATA_DIR");
        if let Some(e) = env {
            c.env("PALISADE_DATA_DIR", e);
        }
        if let Some(f) = flag {
            c.args(["--data-dir", f]);
        }
        let out = c.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(run(None, None).contains("/nonexistent/from-file"));
    assert!(run(Some("/nonexistent/from-env"), None).contains("/nonexistent/from-env"));
    assert!(run(Some("/nonexistent/from-env"), Some("/nonexistent/from-flag")).contains("/nonexistent/from-flag"));
    // Unknown keys are reported, not ignored.
    std::fs::write(&cfg, "listn = [\"127.0.0.1:1\"]\n").unwrap();
    let out = Command::new(BIN).args(["ca", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("listn"));
}

#[test]
fn api_node_settings_from_file_env_and_flags() {
    let root = tmpdir("apinode");
    let cfg = root.join("palisade.toml");
    let serve = |toml: &str, env: &[(&str, &str)], flags: &[&str]| {
        std::fs::write(&cfg, toml).unwrap();
        let mut c = Command::new(BIN);
        c.args(["serve", "--config", cfg.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(["--data-dir", root.join("data").to_str().unwrap()])
            .args(flags);
        for v in ["PALISADE_JWKS_URL", "PALISADE_JWKS_CA_FILE", "PALISADE_ISSUER_BASES", "PALISADE_DATA_DIR"] {
            c.env_remove(v);
        }
        c.envs(env.iter().copied());
        let out = c.output().unwrap();
        assert!(!out.status.success(), "a bad API-node setting must stop the start");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // From the file, checked before anything is served.
    let err = serve("[api_node]\njwks_url = \"http://idp.example/keys\"\n", &[], &[]);
    assert!(err.contains("must use https"), "{err}");
    // The environment overrides the file, a flag the environment.
    let env = [("PALISADE_JWKS_URL", "https://idp.example/from-env")];
    let err = serve("[api_node]\njwks_url = \"http://idp.example/keys\"\n", &env, &[]);
    assert!(err.contains("ca-certificates.crt"), "https without a CA file: {err}");
    let err = serve("", &env, &["--jwks-url", "http://idp.example/from-flag"]);
    assert!(err.contains("from-flag"), "{err}");
    // Unknown keys are reported; the CA file and issuer bases need a JWKS URL.
    let err = serve("[api_node]\njwks_url = \"https://idp.example/keys\"\nrefresh_sec = 5\n", &[], &[]);
    assert!(err.contains("refresh_sec"), "{err}");
    let err = serve("", &[], &["--jwks-ca-file", "/nonexistent/ca.pem"]);
    assert!(err.contains("--jwks-url"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["app", "--help"],
        vec!["app", "secret", "add", "--help"],
        vec!["token", "decode", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["ingest", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
    }
}
