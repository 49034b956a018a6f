#!/usr/bin/env bash
# Real-client tests: unmodified msal / azure-identity / curl against a local Palisade.
#
#   cargo build -p palisade-cli && tests/clients/run.sh [extra pytest args]
#
# Env: PALISADE_BIN (default <repo>/target/debug/palisade), VENV (default <repo>/.venv),
#      PYTHON (default python3), PALISADE_KEEP_TEST_DIR=1 keeps the server's data dir and log.
# Needs 127.0.0.1:443 (run as root, as in CI) and network access to PyPI for the first run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
export PALISADE_BIN="${PALISADE_BIN:-$repo/target/debug/palisade}"

if [[ ! -x "$PALISADE_BIN" ]]; then
    echo "run.sh: palisade binary not found or not executable at $PALISADE_BIN" >&2
    echo "run.sh: build it first (cd $repo && cargo build -p palisade-cli) or set PALISADE_BIN" >&2
    exit 2
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "run.sh: curl is required by the seed-page tests" >&2
    exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "run.sh: creating virtualenv $venv" >&2
    "$python" -m venv "$venv"
fi
# Quiet, but re-run every time so a changed requirements.txt is picked up (a no-op when satisfied).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cd "$repo"
set +e
"$venv/bin/python" -m pytest -q tests/clients "$@"
status=$?
set -e
exit "$status"
