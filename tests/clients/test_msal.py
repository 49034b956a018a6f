"""Unmodified msal 1.39 against Palisade (real-clients.md §2)."""

from __future__ import annotations

import base64
import time
import warnings

import msal
import pytest
import requests

from helpers import MDE_RESOURCE, MDE_SCOPE, TOKEN_LIFETIME, jwt_header


class RecordingHttpClient:
    """requests.Session that remembers what msal POSTed (to check which assertion it built).

    msal accepts any object with get/post/close as `http_client`; it is used exactly the way msal
    uses its own default session (TLS trust still comes from REQUESTS_CA_BUNDLE).
    """

    def __init__(self):
        self.session = requests.Session()
        self.posts = []

    def get(self, url, **kw):
        return self.session.get(url, **kw)

    def post(self, url, data=None, **kw):
        self.posts.append((url, dict(data or {})))
        return self.session.post(url, data=data, **kw)

    def close(self):
        self.session.close()


def _assert_app_token(palisade, result, app, *, appidacr, label):
    assert "access_token" in result, f"msal returned an error: {result}"
    assert result.get("token_type") == "Bearer", result
    assert TOKEN_LIFETIME - 2 <= int(result["expires_in"]) <= TOKEN_LIFETIME, result
    assert result.get("token_source") == "identity_provider", result
    claims = palisade.verify_v1_access_token(result["access_token"], audience=MDE_RESOURCE,
                                             label=label)
    assert claims["aud"] == MDE_RESOURCE
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert "scp" not in claims, claims
    assert claims["appid"] == app["app_id"], claims
    assert claims["appidacr"] == appidacr, claims
    assert claims["idtyp"] == "app", claims
    assert claims["oid"] == claims["sub"], claims
    if app.get("service_principal_id"):
        assert claims["oid"] == app["service_principal_id"], claims
    now = time.time()
    assert claims["nbf"] <= now + 5 and claims["iat"] <= now + 5, claims
    assert now + TOKEN_LIFETIME - 60 <= claims["exp"] <= now + TOKEN_LIFETIME + 60, claims
    return claims


@pytest.mark.parametrize("form", ["tenant-id", "tenant-domain", "localhost", "oidc_authority",
                                  "validate_authority=False"])
def test_cca_client_secret(palisade, confidential_app, form):
    """real-clients.md §2.2 A: every documented way to point msal at a local authority."""
    kwargs = {"authority": palisade.authority(), "instance_discovery": False}
    if form == "tenant-domain":
        kwargs["authority"] = palisade.authority(palisade.tenant_domain)
    elif form == "localhost":  # the server certificate must carry DNS:localhost
        kwargs["authority"] = f"https://localhost:{palisade.port}/{palisade.tenant_id}"
    elif form == "oidc_authority":  # issuer must match https://host:port/{tenant}/v2.0
        kwargs = {"oidc_authority": f"{palisade.authority()}/v2.0"}
    elif form == "validate_authority=False":
        kwargs = {"authority": palisade.authority(), "validate_authority": False}
    cca = msal.ConfidentialClientApplication(
        confidential_app["app_id"], client_credential=confidential_app["secret"], **kwargs)
    result = cca.acquire_token_for_client([MDE_SCOPE])
    claims = _assert_app_token(palisade, result, confidential_app, appidacr="1",
                               label=f"msal CCA secret ({form})")
    # The domain form resolves to the tenant GUID.
    assert claims["tid"] == palisade.tenant_id


def test_cca_wrong_secret_is_invalid_client(palisade, confidential_app):
    """AADSTS7000215 when the secret's keyId is sent instead of its value (identity-protocol
    §8.1)."""
    cca = msal.ConfidentialClientApplication(
        confidential_app["app_id"],
        client_credential=confidential_app["key_id"],
        authority=palisade.authority(),
        instance_discovery=False,
    )
    result = cca.acquire_token_for_client([MDE_SCOPE])
    assert "access_token" not in result, result
    assert result.get("error") == "invalid_client", result
    assert 7000215 in result.get("error_codes", []), result
    assert result["error_description"].startswith("AADSTS7000215:"), result


def _padded_b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode()


def test_cca_certificate_thumbprint_rs256(palisade, app_certificate, confidential_app):
    http = RecordingHttpClient()
    cca = msal.ConfidentialClientApplication(
        app_certificate["app_id"],
        client_credential={"private_key": app_certificate["key_pem"],
                           "thumbprint": app_certificate["thumbprint"]},
        authority=palisade.authority(),
        instance_discovery=False,
        http_client=http,
    )
    result = cca.acquire_token_for_client([MDE_SCOPE])
    # What msal sent: RS256 + padded x5t, aud = the advertised token endpoint.
    (url, form), = [(u, f) for u, f in http.posts if "client_assertion" in f]
    assert url == palisade.token_url(v2=True)
    header = jwt_header(form["client_assertion"])
    der_sha1 = bytes.fromhex(app_certificate["thumbprint"])
    assert header["alg"] == "RS256" and header["x5t"] == _padded_b64url(der_sha1), header
    assert header["x5t"].endswith("="), header
    _assert_app_token(palisade, result, confidential_app, appidacr="2",
                      label="msal CCA cert thumbprint RS256")


def test_cca_certificate_public_certificate_ps256(palisade, app_certificate, confidential_app):
    http = RecordingHttpClient()
    cca = msal.ConfidentialClientApplication(
        app_certificate["app_id"],
        client_credential={"private_key": app_certificate["key_pem"],
                           "public_certificate": app_certificate["cert_pem"]},
        authority=palisade.authority(),
        instance_discovery=False,
        http_client=http,
    )
    result = cca.acquire_token_for_client([MDE_SCOPE])
    (url, form), = [(u, f) for u, f in http.posts if "client_assertion" in f]
    header = jwt_header(form["client_assertion"])
    der_sha256 = bytes.fromhex(app_certificate["thumbprint_sha256"])
    assert header["alg"] == "PS256", header
    assert header["x5t#S256"] == _padded_b64url(der_sha256), header
    assert header.get("x5c"), header
    _assert_app_token(palisade, result, confidential_app, appidacr="2",
                      label="msal CCA cert public_certificate PS256")


def test_pca_username_password(palisade, public_client_app):
    """ROPC: discovery, user-realm GET on :443 (port dropped by msal), password grant."""
    user = public_client_app
    scope = f"{MDE_RESOURCE}/Alert.Read"
    pca = msal.PublicClientApplication(user["app_id"], authority=palisade.authority(),
                                       instance_discovery=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = pca.acquire_token_by_username_password(user["upn"], user["password"], [scope])
    assert "access_token" in result, f"msal returned an error: {result}"
    assert result.get("token_type") == "Bearer", result
    # v2 responses list the granted scopes as full URIs (identity-protocol §1.4).
    assert scope in result.get("scope", "").split(), result
    assert result.get("refresh_token"), "offline_access was requested: expected a refresh_token"
    palisade.remember_secret("ROPC refresh token", result["refresh_token"])
    palisade.remember_secret("ROPC id token", result.get("id_token"))

    claims = palisade.verify_v1_access_token(result["access_token"], audience=MDE_RESOURCE,
                                             label="msal ROPC access token")
    assert "Alert.Read" in claims["scp"].split(), claims
    assert claims["appid"] == user["app_id"], claims
    assert claims["appidacr"] == "0", claims
    assert claims["idtyp"] == "user", claims
    assert claims["oid"] == user["user_id"], claims
    assert claims["upn"] == user["upn"], claims

    idc = result.get("id_token_claims") or {}
    assert idc.get("preferred_username") == user["upn"], idc
    assert idc.get("aud") == user["app_id"], idc
    assert idc.get("tid") == palisade.tenant_id, idc
    assert idc.get("oid") == user["user_id"], idc
    assert idc.get("ver") == "2.0" and idc.get("sub"), idc
    # The id token is a real signed v2 id token whose issuer is the v2 discovery issuer.
    v2_issuer = palisade.discovery(v2=True)["issuer"]
    palisade.verify_jwt(result["id_token"], audience=user["app_id"], issuer=v2_issuer,
                        label="msal ROPC id token",
                        jwks_url=palisade.discovery(v2=True)["jwks_uri"])

    accounts = pca.get_accounts()
    assert len(accounts) == 1, accounts
    acct = accounts[0]
    assert acct["username"] == user["upn"], acct
    assert acct["home_account_id"] == f"{user['user_id']}.{palisade.tenant_id}", acct
    assert acct["realm"] == palisade.tenant_id, acct

    # Refresh-token grant through msal's own silent flow.
    refreshed = pca.acquire_token_silent([scope], account=acct, force_refresh=True)
    assert refreshed and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed.get("token_source") == "identity_provider", refreshed
    if refreshed.get("refresh_token"):
        palisade.remember_secret("refreshed refresh token", refreshed["refresh_token"])
    rclaims = palisade.verify_v1_access_token(refreshed["access_token"], audience=MDE_RESOURCE,
                                              label="msal ROPC refreshed access token")
    assert "Alert.Read" in rclaims["scp"].split(), rclaims
    assert rclaims["oid"] == user["user_id"], rclaims


def test_pca_wrong_password_is_invalid_grant(palisade, public_client_app):
    user = public_client_app
    pca = msal.PublicClientApplication(user["app_id"], authority=palisade.authority(),
                                       instance_discovery=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = pca.acquire_token_by_username_password(
            user["upn"], user["password"] + "x", [f"{MDE_RESOURCE}/Alert.Read"])
    assert "access_token" not in result, result
    assert result.get("error") == "invalid_grant", result
    assert 50126 in result.get("error_codes", []), result
    palisade.remember_secret("wrong password", user["password"] + "x")
