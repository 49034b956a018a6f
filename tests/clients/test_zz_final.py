"""Checks over everything the earlier test modules produced (this file sorts last).

Run alone, these tests skip: they need the tokens and secrets gathered by the other modules.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from helpers import jwt_claims_unverified

# Secrets shorter than this are not searched for (they could match by accident).
MIN_SECRET_LEN = 8


def _needles(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value)}


def test_every_token_verifies_against_both_jwks_endpoints(palisade):
    if not palisade.tokens:
        pytest.skip("no tokens were collected (run the whole directory)")
    tenant_jwks = palisade.discovery(v2=True)["jwks_uri"]
    assert tenant_jwks == f"{palisade.base_url}/{palisade.tenant_id}/discovery/v2.0/keys"
    assert palisade.discovery(v2=False)["jwks_uri"] == f"{palisade.base_url}/common/discovery/keys"
    v2_issuer = palisade.discovery(v2=True)["issuer"]
    seen = list(palisade.tokens)
    for label, token in seen:
        claims = jwt_claims_unverified(token)
        for jwks in (f"{palisade.base_url}/common/discovery/keys", tenant_jwks):
            palisade.verify_jwt(token, audience=claims["aud"],
                                issuer=(palisade.v1_issuer(claims["tid"]) if claims["ver"] == "1.0"
                                        else v2_issuer),
                                label=f"re-check {label}", jwks_url=jwks)
    del palisade.tokens[len(seen):]  # the re-checks above appended duplicates
    # The suite obtains tokens from msal, azure-identity, curl and raw HTTP.
    assert len(seen) >= 10, [label for label, _ in seen]


def test_verifier_is_not_vacuous(palisade):
    """The shared verifier must reject a wrong audience, a wrong issuer and a forged signature."""
    import jwt

    if not palisade.tokens:
        pytest.skip("no tokens were collected (run the whole directory)")
    label, token = palisade.tokens[0]
    claims = jwt_claims_unverified(token)
    n = len(palisade.tokens)
    with pytest.raises(jwt.InvalidAudienceError):
        palisade.verify_jwt(token, audience="https://graph.microsoft.com", issuer=claims["iss"],
                            label="negative")
    with pytest.raises(jwt.InvalidIssuerError):
        palisade.verify_jwt(token, audience=claims["aud"],
                            issuer="https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
                            label="negative")
    head, payload, sig = token.split(".")
    forged_claims = dict(claims, roles=["Machine.Isolate"])
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(forged_claims).encode())
                       .rstrip(b"=").decode(), sig])
    with pytest.raises(jwt.InvalidSignatureError):
        palisade.verify_jwt(forged, audience=claims["aud"], issuer=claims["iss"],
                            label="negative")
    del palisade.tokens[n:]


def test_server_stderr_contains_no_secrets(palisade):
    if len(palisade.secrets) < 3:
        pytest.skip("no secrets were collected (run the whole directory)")
    log = palisade.stderr_path.read_text(encoding="utf-8", errors="replace")
    # The log is live: it must show the token requests the suite made, or this test proves nothing.
    assert "oauth2" in log and "token" in log, f"server log looks empty: {log[-2000:]!r}"
    leaks = []
    for label, value in palisade.secrets:
        if not value or len(value) < MIN_SECRET_LEN:
            continue
        needles = _needles(value)
        if label.startswith("token:") and value.count(".") == 2:
            needles.add(value.rsplit(".", 1)[1])  # a JWT's signature alone is secret material
        for needle in needles:
            if needle in log:
                i = log.index(needle)
                leaks.append(f"{label}: ...{log[max(0, i - 200):i + 40]!r}...")
                break
    assert not leaks, f"secrets found in the server's stderr ({palisade.stderr_path}):\n" + \
        "\n".join(leaks)


def test_data_dir_stores_no_plaintext_passwords_or_client_secrets(palisade):
    wanted = [(label, value) for label, value in palisade.secrets
              if not label.startswith("token:") and "token" not in label
              and "private key" not in label and value and len(value) >= MIN_SECRET_LEN]
    if len(wanted) < 2:
        pytest.skip("no secrets were collected (run the whole directory)")
    found = []
    for path in sorted(palisade.data_dir.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for label, value in wanted:
            for needle in _needles(value):
                for enc in (needle.encode("utf-8"), needle.encode("utf-16-le")):
                    if enc in data:
                        found.append(f"{label} in {path.relative_to(palisade.data_dir)}")
                        break
    assert not found, "plaintext secrets at rest: " + "; ".join(sorted(set(found)))
