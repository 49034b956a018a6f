"""The seed pages' curl / PowerShell token requests, run with a real `curl` and only the host
changed (login.microsoftonline.com -> 127.0.0.1:PORT; `-k` -> `--cacert <Palisade CA>`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from helpers import MDE_RESOURCE, MTP_RESOURCE, TOKEN_LIFETIME, WATP_RESOURCE

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def run_curl(palisade, *args: str) -> tuple[int, dict, dict]:
    """Run curl -i ...; return (status, lower-cased headers, JSON body)."""
    res = subprocess.run(["curl", "-sS", "-i", "--cacert", str(palisade.ca_path), *args],
                         env=palisade.client_env, capture_output=True, timeout=30)
    assert res.returncode == 0, f"curl failed ({res.returncode}): {res.stderr.decode()}"
    raw = res.stdout.decode("utf-8")
    head, _, body = raw.partition("\r\n\r\n")
    while head.startswith("HTTP/") and " 100 " in head.split("\r\n", 1)[0]:
        head, _, body = body.partition("\r\n\r\n")
    status_line, *header_lines = head.split("\r\n")
    status = int(status_line.split()[1])
    headers = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    try:
        doc = json.loads(body)
    except json.JSONDecodeError:
        pytest.fail(f"non-JSON body (HTTP {status}): {body!r}")
    return status, headers, doc


def test_partner_access_curl_v2(palisade, confidential_app):
    """mde-partner-access.md, "Using Curl" (v2 endpoint, windowsatpservice scope)."""
    app = confidential_app
    status, headers, doc = run_curl(
        palisade,
        "-X", "POST", "-H", "Content-Type:application/x-www-form-urlencoded",
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={app['app_id']}",
        "-d", "scope=https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
        "-d", f"client_secret={app['secret']}",
        palisade.token_url(v2=True),
    )
    assert status == 200, doc
    assert headers["content-type"].startswith("application/json"), headers
    assert "no-store" in headers.get("cache-control", ""), headers
    assert doc["token_type"] == "Bearer", doc
    assert doc["expires_in"] == TOKEN_LIFETIME and type(doc["expires_in"]) is int, doc
    assert type(doc["ext_expires_in"]) is int, doc
    assert not ({"expires_on", "not_before", "resource", "refresh_token"} & doc.keys()), doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=WATP_RESOURCE,
                                             label="curl v2 windowsatpservice")
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert claims["appid"] == app["app_id"], claims


@pytest.mark.parametrize("seed", ["mde", "m365d"])
def test_partner_access_powershell_v1(palisade, confidential_app, mtp_app, seed):
    """The seed pages' PowerShell snippet: Invoke-RestMethod -Body @{resource; client_id;
    client_secret; grant_type} to /oauth2/token (URL-encoded form, in that order)."""
    app, resource, role = ((confidential_app, MDE_RESOURCE, "Alert.Read.All") if seed == "mde"
                           else (mtp_app, MTP_RESOURCE, "Incident.Read.All"))
    before = int(time.time())
    status, headers, doc = run_curl(
        palisade,
        "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded",
        "--data-urlencode", f"resource={resource}",
        "--data-urlencode", f"client_id={app['app_id']}",
        "--data-urlencode", f"client_secret={app['secret']}",
        "--data-urlencode", "grant_type=client_credentials",
        palisade.token_url(v2=False),
    )
    after = int(time.time())
    assert status == 200, doc
    assert doc["token_type"] == "Bearer", doc
    # v1: every number is a JSON string (identity-protocol §1.4).
    assert doc["expires_in"] == str(TOKEN_LIFETIME), doc
    assert isinstance(doc["ext_expires_in"], str) and doc["ext_expires_in"].isdigit(), doc
    assert isinstance(doc["expires_on"], str) and doc["expires_on"].isdigit(), doc
    assert isinstance(doc["not_before"], str) and doc["not_before"].isdigit(), doc
    assert before + TOKEN_LIFETIME - 1 <= int(doc["expires_on"]) <= after + TOKEN_LIFETIME + 1, doc
    assert doc["resource"] == resource, doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=resource,
                                             label=f"curl v1 {seed}")
    assert claims["roles"] == [role], claims
    assert claims["exp"] == int(doc["expires_on"]), (claims, doc)
    assert claims["nbf"] == int(doc["not_before"]), (claims, doc)


def test_m365d_curl_v2_corrected_scope(palisade, mtp_app):
    status, _, doc = run_curl(
        palisade,
        "-X", "POST", "-H", "Content-Type:application/x-www-form-urlencoded",
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={mtp_app['app_id']}",
        "-d", "scope=https://api.security.microsoft.com/.default",
        "-d", f"client_secret={mtp_app['secret']}",
        palisade.token_url(v2=True),
    )
    assert status == 200, doc
    assert doc["expires_in"] == TOKEN_LIFETIME, doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MTP_RESOURCE,
                                             label="curl v2 M365D")
    assert claims["roles"] == ["Incident.Read.All"], claims


def test_m365d_curl_v2_seed_typo_is_invalid_scope(palisade, mtp_app):
    """mtp-partner-access.md's curl line has `scope=https://api.security.microsoft.com.default`
    (no slash). Entra answers AADSTS1002012."""
    status, headers, doc = run_curl(
        palisade,
        "-X", "POST", "-H", "Content-Type:application/x-www-form-urlencoded",
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={mtp_app['app_id']}",
        "-d", "scope=https://api.security.microsoft.com.default",
        "-d", f"client_secret={mtp_app['secret']}",
        palisade.token_url(v2=True),
    )
    assert status == 400, (status, doc)
    assert headers["content-type"].startswith("application/json"), headers
    assert doc["error"] == "invalid_scope", doc
    assert doc["error_codes"] == [1002012], doc
    assert doc["error_description"].startswith("AADSTS1002012: "), doc
    assert "https://api.security.microsoft.com.default" in doc["error_description"], doc
    for k in ("trace_id", "correlation_id", "timestamp"):
        assert doc.get(k), (k, doc)
    assert "access_token" not in doc
