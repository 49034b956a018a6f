"""Unmodified azure-identity 1.27 against Palisade (real-clients.md §3)."""

from __future__ import annotations

import os
import time
import warnings

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    CertificateCredential,
    ClientSecretCredential,
    EnvironmentCredential,
    UsernamePasswordCredential,
)

from helpers import MDE_RESOURCE, MDE_SCOPE, TOKEN_LIFETIME


def _get_token_checked(palisade, credential, label, *, appidacr, app_id):
    before = int(time.time())
    tok = credential.get_token(MDE_SCOPE)
    after = int(time.time())
    # azure-identity computes expires_on = request time + int(expires_in).
    assert before + TOKEN_LIFETIME - 1 <= tok.expires_on <= after + TOKEN_LIFETIME + 1, \
        (tok.expires_on, before, after)
    claims = palisade.verify_v1_access_token(tok.token, audience=MDE_RESOURCE, label=label)
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert claims["appid"] == app_id, claims
    assert claims["appidacr"] == appidacr, claims
    assert claims["oid"] == claims["sub"], claims
    return tok, claims


def test_client_secret_credential(palisade, confidential_app):
    cred = ClientSecretCredential(
        palisade.tenant_id, confidential_app["app_id"], confidential_app["secret"],
        authority=palisade.base_url, disable_instance_discovery=True)
    _get_token_checked(palisade, cred, "azure-identity ClientSecretCredential", appidacr="1",
                       app_id=confidential_app["app_id"])


def test_certificate_credential_pem_with_key_and_cert(palisade, app_certificate):
    cred = CertificateCredential(
        palisade.tenant_id, app_certificate["app_id"],
        certificate_path=str(app_certificate["combined_path"]),
        authority=palisade.base_url, disable_instance_discovery=True)
    _get_token_checked(palisade, cred, "azure-identity CertificateCredential", appidacr="2",
                       app_id=app_certificate["app_id"])


def test_certificate_credential_send_certificate_chain(palisade, app_certificate):
    cred = CertificateCredential(
        palisade.tenant_id, app_certificate["app_id"],
        certificate_data=(app_certificate["key_pem"] + app_certificate["cert_pem"]).encode(),
        send_certificate_chain=True,
        authority=palisade.base_url, disable_instance_discovery=True)
    _get_token_checked(palisade, cred, "azure-identity CertificateCredential x5c", appidacr="2",
                       app_id=app_certificate["app_id"])


def test_environment_credential_with_authority_host(palisade, confidential_app, monkeypatch):
    """AZURE_AUTHORITY_HOST + AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, the 12-factor way."""
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", palisade.base_url)
    monkeypatch.setenv("AZURE_TENANT_ID", palisade.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", confidential_app["app_id"])
    monkeypatch.setenv("AZURE_CLIENT_SECRET", confidential_app["secret"])
    cred = EnvironmentCredential(disable_instance_discovery=True)
    _get_token_checked(palisade, cred, "azure-identity EnvironmentCredential", appidacr="1",
                       app_id=confidential_app["app_id"])


def test_client_secret_credential_wrong_secret(palisade, confidential_app):
    cred = ClientSecretCredential(
        palisade.tenant_id, confidential_app["app_id"], "not-the-secret-" + os.urandom(6).hex(),
        authority=palisade.base_url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as ei:
        cred.get_token(MDE_SCOPE)
    assert "AADSTS7000215" in str(ei.value), str(ei.value)


def test_username_password_credential(palisade, public_client_app):
    """Needs an id_token with iss/aud/preferred_username/sub (real-clients.md §3.1)."""
    user = public_client_app
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cred = UsernamePasswordCredential(
            user["app_id"], user["upn"], user["password"], tenant_id=palisade.tenant_id,
            authority=palisade.base_url, disable_instance_discovery=True)
        tok = cred.get_token(f"{MDE_RESOURCE}/.default")
    claims = palisade.verify_v1_access_token(tok.token, audience=MDE_RESOURCE,
                                             label="azure-identity UsernamePasswordCredential")
    assert "Alert.Read" in claims["scp"].split(), claims
    assert claims["oid"] == user["user_id"], claims
    assert claims["appid"] == user["app_id"], claims
    assert tok.expires_on > time.time() + 3000, tok


def test_client_secret_credential_enable_cae(palisade, confidential_app):
    """get_token(enable_cae=True) adds claims={"access_token":{"xms_cc":{"values":["CP1"]}}};
    the server must accept (and may ignore) it (real-clients.md §3.1, §6)."""
    cred = ClientSecretCredential(
        palisade.tenant_id, confidential_app["app_id"], confidential_app["secret"],
        authority=palisade.base_url, disable_instance_discovery=True)
    tok = cred.get_token(MDE_SCOPE, enable_cae=True)
    claims = palisade.verify_v1_access_token(tok.token, audience=MDE_RESOURCE,
                                             label="azure-identity CAE")
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert tok.expires_on > time.time() + 3000, tok


# -- azure.identity.aio: AadClient, no discovery, hand-built padded PS256 assertion ---------------

def _run_aio(coro_factory):
    import asyncio

    return asyncio.run(coro_factory())


def test_aio_client_secret_credential(palisade, confidential_app):
    from azure.identity.aio import ClientSecretCredential as AioClientSecretCredential

    async def go():
        async with AioClientSecretCredential(
                palisade.tenant_id, confidential_app["app_id"], confidential_app["secret"],
                authority=palisade.base_url, disable_instance_discovery=True) as cred:
            return await cred.get_token(MDE_SCOPE)

    before = int(time.time())
    tok = _run_aio(go)
    after = int(time.time())
    assert before + TOKEN_LIFETIME - 2 <= tok.expires_on <= after + TOKEN_LIFETIME + 1, tok
    claims = palisade.verify_v1_access_token(tok.token, audience=MDE_RESOURCE,
                                             label="azure-identity aio ClientSecretCredential")
    assert claims["roles"] == ["Alert.Read.All"], claims


def test_aio_certificate_credential_padded_ps256(palisade, app_certificate):
    """The async CertificateCredential signs PS256 with x5t#S256 and encodes every JWS segment
    with base64.urlsafe_b64encode, i.e. WITH '=' padding (identity-protocol §1.2)."""
    from azure.identity.aio import CertificateCredential as AioCertificateCredential

    async def go():
        async with AioCertificateCredential(
                palisade.tenant_id, app_certificate["app_id"],
                certificate_path=str(app_certificate["combined_path"]),
                authority=palisade.base_url, disable_instance_discovery=True) as cred:
            return await cred.get_token(MDE_SCOPE)

    tok = _run_aio(go)
    claims = palisade.verify_v1_access_token(tok.token, audience=MDE_RESOURCE,
                                             label="azure-identity aio CertificateCredential")
    assert claims["roles"] == ["Alert.Read.All"], claims
    assert claims["appidacr"] == "2", claims
