"""Constants and small helpers shared by conftest.py and the test modules."""

from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PALISADE_BIN = os.environ.get("PALISADE_BIN") or str(REPO_ROOT / "target" / "debug" / "palisade")

# Resources (first-party APIs) from the seed pages.
MDE_APP_ID = "fc780465-2017-40d4-a0c5-307022471b92"  # WindowsDefenderATP
MDE_RESOURCE = "https://api.securitycenter.microsoft.com"
MDE_SCOPE = MDE_RESOURCE + "/.default"
WATP_RESOURCE = "https://securitycenter.onmicrosoft.com/windowsatpservice"  # curl seed's scope
MTP_APP_ID = "8ee8fdad-f234-4243-8f3b-15c294843740"  # Microsoft Threat Protection
MTP_RESOURCE = "https://api.security.microsoft.com"

TOKEN_LIFETIME = 3599  # expires_in of every client-credentials response (identity-protocol §1.4)

# Environment variables that would change how clients or the CLI behave and must not leak in from
# the developer's / CI's shell.
_SCRUB_PREFIXES = ("PALISADE_", "AZURE_", "MSAL_")
_SCRUB_NAMES = {
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "REGION_NAME",
}


def _scrubbed_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in _SCRUB_NAMES and not k.startswith(_SCRUB_PREFIXES)
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _text(token) -> str:
    return token.decode("ascii") if isinstance(token, bytes) else token


def jwt_header(token: str | bytes) -> dict:
    return json.loads(b64url_decode(_text(token).split(".")[0]))


def jwt_claims_unverified(token: str | bytes) -> dict:
    return json.loads(b64url_decode(_text(token).split(".")[1]))


