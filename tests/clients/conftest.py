"""Fixtures for the real-client test suite.

One Palisade server is started per pytest session on a fresh data directory, listening on a free
port of 127.0.0.1 *and* on 127.0.0.1:443 (msal / azure-identity ROPC send the user-realm GET to the
authority's host without its port; see /work/shared/spec/real-clients.md §2.2 D).

Clients are unmodified msal / azure-identity / curl. They are told to trust Palisade's CA through
the environment only (REQUESTS_CA_BUNDLE / SSL_CERT_FILE / CURL_CA_BUNDLE = the bundle written by
`palisade ca`), exactly as a user would do.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from helpers import (
    PALISADE_BIN, _free_port, _port_in_use, _scrubbed_env, b64url_decode, jwt_header,
)

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 15.0


class CliError(AssertionError):
    pass


@dataclass
class Palisade:
    """A running server plus everything the tests need to talk to it."""

    proc: subprocess.Popen
    workdir: Path  # parent of the data dir; also holds the captured stderr and test material
    data_dir: Path
    port: int
    banner: dict
    stderr_path: Path
    ca_path: Path = None
    bundle_path: Path = None
    client_env: dict = field(default_factory=dict)
    # Every secret value the tests created or obtained: (label, value). Checked by the leak test.
    secrets: list = field(default_factory=list)
    # Every token the tests obtained and verified: (label, token).
    tokens: list = field(default_factory=list)
    _jwks_clients: dict = field(default_factory=dict)
    _discovery: dict = field(default_factory=dict)
    _jwks_raw: dict = field(default_factory=dict)

    # -- addresses -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def tenant_id(self) -> str:
        return self.banner["firstRun"]["tenantId"]

    @property
    def tenant_domain(self) -> str:
        return self.banner["firstRun"]["tenantDomain"]

    def authority(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.tenant_id}"

    def token_url(self, v2: bool = True, tenant: str | None = None) -> str:
        return f"{self.authority(tenant)}/oauth2/{'v2.0/' if v2 else ''}token"

    def v1_issuer(self, tenant_id: str | None = None) -> str:
        return f"https://sts.windows.net/{tenant_id or self.tenant_id}/"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    # -- CLI -------------------------------------------------------------------------------------
    def cli(self, *args: str, tenant: str | None = None, extra_env: dict | None = None) -> dict:
        """Run `palisade <args> --data-dir D --server URL --output json` and parse its JSON."""
        argv = [PALISADE_BIN, *args, "--data-dir", str(self.data_dir),
                "--server", self.base_url, "--output", "json"]
        if tenant:
            argv += ["--tenant", tenant]
        env = dict(self.client_env)
        if extra_env:
            env.update(extra_env)
        res = subprocess.run(argv, cwd=self.workdir, env=env, capture_output=True, text=True,
                             timeout=60)
        shown = " ".join(args)
        if res.returncode != 0:
            raise CliError(f"`palisade {shown}` exited {res.returncode}\n"
                           f"stdout: {res.stdout}\nstderr: {res.stderr}")
        try:
            return json.loads(res.stdout)
        except json.JSONDecodeError as e:
            raise CliError(f"`palisade {shown}` printed non-JSON output ({e}): {res.stdout!r}")

    # -- secrets bookkeeping ---------------------------------------------------------------------
    def remember_secret(self, label: str, value: str) -> str:
        if value:
            self.secrets.append((label, value))
        return value

    # -- token verification ----------------------------------------------------------------------
    def discovery(self, v2: bool = True, tenant: str | None = None) -> dict:
        key = (v2, tenant or self.tenant_id)
        if key not in self._discovery:
            url = (f"{self.authority(tenant)}/{'v2.0/' if v2 else ''}"
                   ".well-known/openid-configuration")
            r = requests.get(url, timeout=10)
            assert r.status_code == 200, (url, r.status_code, r.text)
            self._discovery[key] = r.json()
        return self._discovery[key]

    def _jwks_client(self, url: str) -> jwt.PyJWKClient:
        if url not in self._jwks_clients:
            self._jwks_clients[url] = jwt.PyJWKClient(url, ssl_context=self.ssl_context(),
                                                      cache_jwk_set=True)
        return self._jwks_clients[url]

    def verify_jwt(self, token: str, *, audience: str, issuer: str, label: str,
                   jwks_url: str | None = None, leeway: int = 30) -> dict:
        """Verify an RS256 JWT against Palisade's published JWKS; returns its claims.

        The signing key is looked up by `kid` in `/common/discovery/keys` (the v1 jwks_uri) unless
        another JWKS URL is given.
        """
        self.tokens.append((label, token))
        self.remember_secret(f"token:{label}", token)
        header = jwt_header(token)
        assert header.get("alg") == "RS256", header
        assert header.get("typ") == "JWT", header
        assert header.get("kid"), header
        client = self._jwks_client(jwks_url or f"{self.base_url}/common/discovery/keys")
        signing_key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": ["exp", "iat", "nbf", "aud", "iss"]},
        )
        # The JWKS entry must carry the certificate whose SHA-1 thumbprint is the kid / x5t.
        url = jwks_url or f"{self.base_url}/common/discovery/keys"
        if url not in self._jwks_raw:
            r = requests.get(url, timeout=10)
            assert r.status_code == 200, (url, r.status_code, r.text)
            self._jwks_raw[url] = r.json()
        jwk = next(k for k in self._jwks_raw[url]["keys"] if k.get("kid") == header["kid"])
        assert jwk["kty"] == "RSA" and jwk.get("use") == "sig", jwk
        x5c = jwk.get("x5c")
        assert x5c, f"JWKS key {header['kid']} has no x5c"
        der = base64.b64decode(x5c[0])
        thumb = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
        assert header["kid"] == thumb, (header, thumb)
        # ... and that certificate holds the very key published as n/e.
        pub = x509.load_der_x509_certificate(der).public_key().public_numbers()
        assert pub.n == int.from_bytes(b64url_decode(jwk["n"]), "big"), jwk["kid"]
        assert pub.e == int.from_bytes(b64url_decode(jwk["e"]), "big"), jwk["kid"]
        if "x5t" in header:
            assert header["x5t"] == header["kid"], header
        return claims

    def verify_v1_access_token(self, token: str, *, audience: str, label: str,
                               tenant_id: str | None = None) -> dict:
        claims = self.verify_jwt(token, audience=audience, issuer=self.v1_issuer(tenant_id),
                                 label=label)
        header = jwt_header(token)
        assert header.get("x5t") == header["kid"], f"v1 access tokens carry x5t == kid: {header}"
        assert claims["ver"] == "1.0", claims
        assert claims["tid"] == (tenant_id or self.tenant_id), claims
        return claims


@contextlib.contextmanager
def serve(request, *, port_443: bool = True, drop_in: bool = True, config: str | None = None):
    """Start `palisade serve` on a fresh data directory and yield a ready [`Palisade`]; stop it
    (SIGTERM, expecting a clean exit) afterwards. `config` is the text of a palisade.toml for
    settings that have no flag (e.g. `throttling`). The session server listens on 443 and runs the
    drop-in proxy; other servers a module starts need neither."""
    if not (os.path.isfile(PALISADE_BIN) and os.access(PALISADE_BIN, os.X_OK)):
        pytest.exit(f"palisade binary not found at {PALISADE_BIN}: run "
                    "`cargo build -p palisade-cli` or set PALISADE_BIN", returncode=3)
    if port_443 and _port_in_use(443):
        pytest.exit("127.0.0.1:443 is already in use; the real-client tests need it for the "
                    "port-less user-realm lookup of msal ROPC (real-clients.md §2.2 D)",
                    returncode=3)

    workdir = Path(tempfile.mkdtemp(prefix="palisade-clients-"))
    data_dir = workdir / "data"
    stderr_path = workdir / "server-stderr.log"
    port = _free_port()
    proxy_port = _free_port()

    server_env = _scrubbed_env()
    server_env["NO_COLOR"] = "1"
    stderr_file = open(stderr_path, "wb")
    argv = [PALISADE_BIN, "serve", "--data-dir", str(data_dir),
            "--listen", f"127.0.0.1:{port}", "--output", "json"]
    if port_443:
        argv += ["--listen", "127.0.0.1:443"]
    if drop_in:
        argv += ["--drop-in-listen", f"127.0.0.1:{proxy_port}"]
    if config is not None:
        # Not ./palisade.toml: the CLI runs in workdir too and must not read the server's settings.
        (workdir / "server.toml").write_text(config)
        argv += ["--config", str(workdir / "server.toml")]
    if os.environ.get("PALISADE_TEST_SERVER_LOG"):  # e.g. "debug": stricter secret-leak check
        argv += ["--log", os.environ["PALISADE_TEST_SERVER_LOG"]]
    proc = subprocess.Popen(
        argv,
        cwd=workdir,  # no stray ./palisade.toml
        env=server_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        start_new_session=True,  # Ctrl-C on the test run must not hit the server before teardown
    )

    # Read the pretty-printed JSON banner without ever blocking past the deadline; keep draining
    # stdout afterwards so the server can never block on a full pipe.
    lines: queue.Queue = queue.Queue()

    def _pump():
        for line in iter(proc.stdout.readline, b""):
            lines.put(line.decode("utf-8", "replace"))
        lines.put(None)

    threading.Thread(target=_pump, daemon=True).start()

    def _fail(msg):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()
        stderr_file.close()
        pytest.exit(f"{msg}\n--- server stderr ({stderr_path}) ---\n"
                    f"{stderr_path.read_text(errors='replace')[-4000:]}", returncode=3)

    buf, banner = "", None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while banner is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _fail(f"palisade serve printed no JSON banner within {STARTUP_TIMEOUT}s; got {buf!r}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            _fail(f"palisade serve exited ({proc.poll()}) before its banner; stdout {buf!r}")
        buf += line
        if buf.strip():
            try:
                banner = json.loads(buf)
            except json.JSONDecodeError:
                pass

    p = Palisade(proc=proc, workdir=workdir, data_dir=data_dir, port=port, banner=banner,
                 stderr_path=stderr_path)
    try:
        assert banner.get("event") == "started", banner
        assert p.base_url in banner.get("urls", []), banner
        assert banner.get("firstRun", {}).get("tenantId"), banner
        if drop_in:
            assert banner.get("dropInProxy") == f"http://127.0.0.1:{proxy_port}", banner
        p.remember_secret("admin password (firstRun)", banner["firstRun"].get("adminPassword"))

        # `palisade ca`: system roots + Palisade CA.
        res = subprocess.run([PALISADE_BIN, "ca", "--data-dir", str(data_dir), "--output", "json"],
                             cwd=workdir, env=_scrubbed_env(), capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stderr
        ca = json.loads(res.stdout)
        p.ca_path = Path(ca["caCertificate"])
        p.bundle_path = Path(ca["bundle"])
        assert p.ca_path.is_file() and p.bundle_path.is_file(), ca
        assert ca["env"]["REQUESTS_CA_BUNDLE"] == str(p.bundle_path), ca

        client_env = _scrubbed_env()
        client_env.update({
            "REQUESTS_CA_BUNDLE": str(p.bundle_path),
            "SSL_CERT_FILE": str(p.bundle_path),
            "CURL_CA_BUNDLE": str(p.bundle_path),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        p.client_env = client_env
    except BaseException:
        _fail("server started but the fixture could not finish setting up")
        raise

    try:
        yield p
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            stderr_file.close()
            pytest.fail(f"palisade did not exit within {SHUTDOWN_TIMEOUT}s of SIGTERM "
                        f"(log: {stderr_path})")
        stderr_file.close()
        assert rc == 0, f"palisade exited with status {rc} after SIGTERM (log: {stderr_path})"
        if os.environ.get("PALISADE_KEEP_TEST_DIR") or request.session.testsfailed:
            print(f"\nkept the server's data dir and log: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def palisade(request) -> Palisade:
    with serve(request) as p:
        # In-process clients (msal, azure-identity, requests, PyJWT) read os.environ.
        saved_env = dict(os.environ)
        os.environ.clear()
        os.environ.update(p.client_env)
        try:
            yield p
        finally:
            os.environ.clear()
            os.environ.update(saved_env)


# -- directory objects ---------------------------------------------------------------------------

def _register_confidential(p: Palisade, name: str, api: str, permission: str) -> dict:
    reg = p.cli("app", "register", "--name", name, "--audience", "multi",
                "--redirect-uri", "web:https://portal.azure.com", tenant=p.tenant_id)
    app_id = reg["application"]["appId"]
    assert reg["tenantId"] == p.tenant_id, reg
    p.cli("app", "permission", "add", "--app", app_id, "--api", api, "--permission", permission,
          "--type", "application", tenant=p.tenant_id)
    consent = p.cli("app", "consent", "--app", app_id, tenant=p.tenant_id)
    assert permission in consent.get("appRolesGranted", []), consent
    sec = p.cli("app", "secret", "add", "--app", app_id, tenant=p.tenant_id)
    cred = sec["passwordCredential"]
    secret = p.remember_secret(f"client secret of {name}", cred["secretText"])
    assert cred["hint"] == secret[:3], cred
    return {"app_id": app_id, "secret": secret, "key_id": cred["keyId"],
            "object_id": reg["application"]["id"], "name": name,
            "service_principal_id": consent.get("servicePrincipalId")}


@pytest.fixture(scope="session")
def confidential_app(palisade) -> dict:
    """Multi-tenant web app with WindowsDefenderATP Alert.Read.All (application), consented, with
    a client secret: the partner-access seed page, steps 1-7."""
    return _register_confidential(palisade, "Partner MDE app", "WindowsDefenderATP",
                                  "Alert.Read.All")


@pytest.fixture(scope="session")
def mtp_app(palisade) -> dict:
    """Same for the Microsoft 365 Defender seed page: Microsoft Threat Protection
    Incident.Read.All (application). The seed page says "Incidents.Read.All", a documentation typo
    (defender-api.md §2: the real value is singular)."""
    return _register_confidential(palisade, "Partner M365D app", "Microsoft Threat Protection",
                                  "Incident.Read.All")


@pytest.fixture(scope="session")
def app_certificate(palisade, confidential_app) -> dict:
    """An RSA-2048 self-signed certificate uploaded to `confidential_app` with `app cert add`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "palisade-client-tests")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    d = palisade.workdir / "app-cert"
    d.mkdir()
    (d / "key.pem").write_text(key_pem)
    (d / "cert.pem").write_text(cert_pem)
    (d / "key-and-cert.pem").write_text(key_pem + cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der).hexdigest().upper()
    sha256 = hashlib.sha256(der).hexdigest().upper()

    out = palisade.cli("app", "cert", "add", "--app", confidential_app["app_id"],
                       "--cert", str(d / "cert.pem"), tenant=palisade.tenant_id)
    assert out["thumbprint"].upper() == sha1, (out, sha1)
    assert out["thumbprintSha256"].upper() == sha256, (out, sha256)
    # Private key body must never show up in logs either.
    palisade.remember_secret("certificate private key",
                             "".join(key_pem.strip().splitlines()[1:-1])[:200])
    return {"key_pem": key_pem, "cert_pem": cert_pem, "thumbprint": sha1,
            "thumbprint_sha256": sha256, "key_path": d / "key.pem", "cert_path": d / "cert.pem",
            "combined_path": d / "key-and-cert.pem", "app_id": confidential_app["app_id"]}


def _strong_password() -> str:
    # Upper, lower, digit and '-' (URL-unreserved, so the seed's unencoded C# body stays valid).
    return "Pw-" + secrets.token_hex(10) + "-Zq7"


@pytest.fixture(scope="session")
def public_client_app(palisade) -> dict:
    """Public-client app with delegated WindowsDefenderATP Alert.Read, admin-consented, plus a
    user with a known password (the on-behalf-of-user seed page)."""
    p = palisade
    reg = p.cli("app", "register", "--name", "MDE user app", "--audience", "single",
                "--redirect-uri", "public:myapp://auth", "--public-client", tenant=p.tenant_id)
    app_id = reg["application"]["appId"]
    p.cli("app", "permission", "add", "--app", app_id, "--api", "WindowsDefenderATP",
          "--permission", "Alert.Read", "--type", "delegated", tenant=p.tenant_id)
    consent = p.cli("app", "consent", "--app", app_id, tenant=p.tenant_id)
    assert "Alert.Read" in consent.get("scopesGranted", []), consent

    password = p.remember_secret("user password", _strong_password())
    upn = f"analyst{secrets.token_hex(3)}@{p.tenant_domain}"
    user = p.cli("user", "create", "--upn", upn, "--role", "Security Reader",
                 tenant=p.tenant_id, extra_env={"PALISADE_USER_PASSWORD": password})
    assert user["userPrincipalName"] == upn, user
    return {"app_id": app_id, "upn": upn, "password": password, "user_id": user["id"]}
