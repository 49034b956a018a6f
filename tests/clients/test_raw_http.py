"""Hand-made token requests as some real clients send them."""

from __future__ import annotations

import base64
import http.client
import json
import time
from urllib.parse import quote, urlencode

from helpers import MDE_RESOURCE, MDE_SCOPE, TOKEN_LIFETIME


def _post_raw(palisade, path: str, body: bytes, headers: dict) -> tuple[int, dict, dict]:
    conn = http.client.HTTPSConnection("127.0.0.1", palisade.port,
                                       context=palisade.ssl_context(), timeout=30)
    try:
        # http.client adds Host, Accept-Encoding and Content-Length, and nothing else.
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            raise AssertionError(f"non-JSON body (HTTP {resp.status}): {raw!r}")
        return resp.status, hdrs, doc
    finally:
        conn.close()


def test_v2_token_without_content_type(palisade, confidential_app):
    """msticpy 3.x posts `content=urlencode({...})` with httpx: no Content-Type header at all
    (identity-protocol §7.4). The body must still be parsed as a form."""
    app = confidential_app
    body = urlencode({"grant_type": "client_credentials", "scope": MDE_SCOPE,
                      "client_id": app["app_id"], "client_secret": app["secret"]}).encode()
    path = f"/{palisade.tenant_id}/oauth2/v2.0/token"
    status, _, doc = _post_raw(palisade, path, body, {"Accept": "application/json"})
    assert status == 200, doc
    assert doc["token_type"] == "Bearer" and doc["expires_in"] == TOKEN_LIFETIME, doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MDE_RESOURCE,
                                              label="no Content-Type v2")
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert claims["appid"] == app["app_id"], claims


def test_v2_token_client_secret_basic(palisade, confidential_app):
    """HTTP Basic client authentication (client_secret_basic; identity-protocol §1.2 way 2)."""
    app = confidential_app
    basic = base64.b64encode(
        f"{quote(app['app_id'], safe='')}:{quote(app['secret'], safe='')}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials", "scope": MDE_SCOPE,
                      "client_id": app["app_id"]}).encode()
    status, _, doc = _post_raw(palisade, f"/{palisade.tenant_id}/oauth2/v2.0/token", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Basic {basic}",
    })
    assert status == 200, doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MDE_RESOURCE,
                                              label="client_secret_basic v2")
    assert claims["roles"] == ["Alert.Read.All"], claims


def test_v1_password_grant_seed_csharp(palisade, public_client_app):
    """mde-access-on-behalf-of-user.md's C# AcquireUserTokenAsync: an *unencoded* body
    `resource=...&client_id=...&grant_type=password&username=...&password=...` with
    `Content-Type: application/x-www-form-urlencoded; charset=utf-8` to /oauth2/token."""
    user = public_client_app
    body = (f"resource={MDE_RESOURCE}&client_id={user['app_id']}&grant_type=password"
            f"&username={user['upn']}&password={user['password']}").encode("utf-8")
    before = int(time.time())
    status, _, doc = _post_raw(palisade, f"/{palisade.tenant_id}/oauth2/token", body, {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    })
    assert status == 200, doc
    assert doc["token_type"] == "Bearer", doc
    assert doc["expires_in"].isdigit(), doc  # v1: strings
    assert int(doc["expires_on"]) >= before + 3000, doc
    assert doc["resource"] == MDE_RESOURCE, doc
    assert "Alert.Read" in doc.get("scope", "").split(), doc
    # v1 user flows always return a refresh token (no offline_access in v1).
    assert doc.get("refresh_token"), sorted(doc)
    palisade.remember_secret("v1 ROPC refresh token", doc["refresh_token"])
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MDE_RESOURCE,
                                              label="seed C# v1 ROPC")
    assert "Alert.Read" in claims["scp"].split(), claims
    assert claims["upn"] == user["upn"], claims
    assert claims["oid"] == user["user_id"], claims
    assert claims["appid"] == user["app_id"], claims


def test_invalid_client_error_shape(palisade, confidential_app):
    """A wrong secret: HTTP 401, AADSTS7000215, the full Entra error shape, and correlation_id
    echoing the client's client-request-id (identity-protocol §6.1)."""
    import re
    import uuid

    app = confidential_app
    request_id = str(uuid.uuid4())
    body = urlencode({"grant_type": "client_credentials", "scope": MDE_SCOPE,
                      "client_id": app["app_id"], "client_secret": app["key_id"]}).encode()
    status, headers, doc = _post_raw(palisade, f"/{palisade.tenant_id}/oauth2/v2.0/token", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "client-request-id": request_id,
    })
    assert status == 401, (status, doc)
    assert headers["content-type"].startswith("application/json"), headers
    assert doc["error"] == "invalid_client", doc
    assert doc["error_codes"] == [7000215], doc
    desc = doc["error_description"]
    assert desc.startswith("AADSTS7000215: Invalid client secret provided."), desc
    assert app["app_id"] in desc, desc
    assert doc["correlation_id"] == request_id, doc
    uuid.UUID(doc["trace_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", doc["timestamp"]), doc
    assert desc.endswith(f"\r\nTrace ID: {doc['trace_id']}\r\nCorrelation ID: {request_id}"
                         f"\r\nTimestamp: {doc['timestamp']}"), desc
    assert "access_token" not in doc


def _assertion(app_certificate, aud: str) -> str:
    """A client assertion the way msal builds it: RS256, padded x5t, float iat/exp, no nbf."""
    import uuid

    import jwt

    now = time.time()
    x5t = base64.urlsafe_b64encode(bytes.fromhex(app_certificate["thumbprint"])).decode()
    return jwt.encode(
        {"aud": aud, "iss": app_certificate["app_id"], "sub": app_certificate["app_id"],
         "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
        app_certificate["key_pem"], algorithm="RS256", headers={"x5t": x5t})


def test_v1_token_with_certificate_assertion_aud_v1_url(palisade, app_certificate):
    """v1 endpoint (resource=) with a client assertion whose aud is the v1 token URL
    (identity-protocol §1.2: accept the v1 or the v2 token URL)."""
    aud = palisade.token_url(v2=False)
    body = urlencode({
        "grant_type": "client_credentials", "resource": MDE_RESOURCE,
        "client_id": app_certificate["app_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(app_certificate, aud),
    }).encode()
    status, _, doc = _post_raw(palisade, f"/{palisade.tenant_id}/oauth2/token", body, {
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, doc
    assert doc["expires_in"] == str(TOKEN_LIFETIME), doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MDE_RESOURCE,
                                              label="v1 cert assertion")
    assert claims["roles"] == ["Alert.Read.All"] and claims["appidacr"] == "2", claims


def test_v2_token_with_certificate_assertion_tenant_domain(palisade, app_certificate):
    """Tenant given as its domain in both the URL and the assertion's aud."""
    aud = palisade.token_url(v2=True, tenant=palisade.tenant_domain)
    body = urlencode({
        "grant_type": "client_credentials", "scope": MDE_SCOPE,
        "client_id": app_certificate["app_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _assertion(app_certificate, aud),
    }).encode()
    status, _, doc = _post_raw(palisade, f"/{palisade.tenant_domain}/oauth2/v2.0/token", body, {
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, doc
    claims = palisade.verify_v1_access_token(doc["access_token"], audience=MDE_RESOURCE,
                                              label="v2 cert assertion, domain tenant")
    assert claims["tid"] == palisade.tenant_id, claims
