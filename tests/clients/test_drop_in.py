"""Drop-in mode: unmodified clients that keep Microsoft's hard-coded URLs, with nothing changed but
HTTPS_PROXY (Palisade's CONNECT port) and the CA bundle (real-clients.md §1.3, approach C).

Each client runs in its own Python process so the proxy variables never leak into other tests.
No authority, no instance_discovery / disable_instance_discovery flags: the library defaults.
"""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import MDE_RESOURCE, MDE_SCOPE


def _run(palisade, code: str) -> dict:
    env = dict(palisade.client_env)
    env.update({"HTTPS_PROXY": palisade.banner["dropInProxy"], "https_proxy": palisade.banner["dropInProxy"],
                "NO_PROXY": "", "no_proxy": ""})
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"client failed:\nstdout: {res.stdout}\nstderr: {res.stderr}"
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_msal_confidential_client_with_default_authority(palisade, confidential_app):
    out = _run(palisade, f"""
import json, msal
app = msal.ConfidentialClientApplication({confidential_app['app_id']!r}, client_credential={confidential_app['secret']!r},
    authority="https://login.microsoftonline.com/{palisade.tenant_id}")
r = app.acquire_token_for_client([{MDE_SCOPE!r}])
print(json.dumps({{"token": r.get("access_token"), "error": r.get("error_description")}}))
""")
    assert out["token"], out
    claims = palisade.verify_v1_access_token(out["token"], audience=MDE_RESOURCE, label="drop-in msal CCA")
    assert claims["roles"] == ["Alert.Read.All"]


def test_azure_identity_with_no_authority_at_all(palisade, confidential_app):
    out = _run(palisade, f"""
import json
from azure.identity import ClientSecretCredential
t = ClientSecretCredential({palisade.tenant_id!r}, {confidential_app['app_id']!r}, {confidential_app['secret']!r}).get_token({MDE_SCOPE!r})
print(json.dumps({{"token": t.token, "expires_on": t.expires_on}}))
""")
    claims = palisade.verify_v1_access_token(out["token"], audience=MDE_RESOURCE, label="drop-in azure-identity")
    assert claims["tid"] == palisade.tenant_id


def test_msal_username_password_needs_no_port_443_workaround(palisade, public_client_app):
    out = _run(palisade, f"""
import json, warnings, msal
warnings.simplefilter("ignore")
app = msal.PublicClientApplication({public_client_app['app_id']!r}, authority="https://login.microsoftonline.com/{palisade.tenant_id}")
r = app.acquire_token_by_username_password({public_client_app['upn']!r}, {public_client_app['password']!r}, scopes=[{MDE_RESOURCE + '/Alert.Read'!r}])
print(json.dumps({{"token": r.get("access_token"), "error": r.get("error_description"), "accounts": len(app.get_accounts())}}))
""")
    assert out["token"], out
    assert out["accounts"] == 1
    claims = palisade.verify_v1_access_token(out["token"], audience=MDE_RESOURCE, label="drop-in msal ROPC")
    assert "Alert.Read" in claims["scp"].split()
