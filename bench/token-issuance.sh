#!/usr/bin/env bash
# Benchmark: client_credentials token issuance over HTTPS keep-alive, 64 connections, against this
# machine's raw RSA-2048 signing rate measured in the same run (openssl speed × cores).
#
#   bench/token-issuance.sh [--duration SECONDS]
#
# Prints one JSON line with tokens/s, the ratio to the raw signing limit, and p99 latency at half
# the measured load (open loop). Builds release binaries first. Needs openssl and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=10
[[ "${1:-}" == "--duration" ]] && DURATION="$2"

cargo build --release -q -p palisade-cli -p palisade-bench
BIN=target/release/palisade
LOADGEN=target/release/palisade-loadgen
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --log warn --output json >"$WORK/banner.json" 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 100); do grep -q '"started"' "$WORK/banner.json" 2>/dev/null && break; sleep 0.1; done
SERVER="https://127.0.0.1:$PORT"
P() { "$BIN" "$@" --data-dir "$WORK/data" --server "$SERVER" --output json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
TENANT=$(field "d['firstRun']['tenantId']" <"$WORK/banner.json")
APP=$(P app register --name bench --audience single | field "d['application']['appId']")
P app permission add --app "$APP" --api WindowsDefenderATP --permission Alert.Read.All --type application >/dev/null
P app consent --app "$APP" >/dev/null
SECRET=$(P app secret add --app "$APP" | field "d['passwordCredential']['secretText']")
ENC_SECRET=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$SECRET")
FORM="grant_type=client_credentials&client_id=$APP&client_secret=$ENC_SECRET&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default"
URL="$SERVER/$TENANT/oauth2/v2.0/token"
CA="$WORK/data/tls/ca.pem"
# Sanity: one real token.
curl -sf --cacert "$CA" -d "$FORM" "$URL" | field "d['token_type']" >/dev/null

CORES=$(nproc)
SIGN_PER_CORE=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
RAW=$(python3 -c "print(round($SIGN_PER_CORE * $CORES, 1))")

CLOSED=$("$LOADGEN" --url "$URL" --ca "$CA" --form "$FORM" --connections 64 --duration "$DURATION")
TPS=$(echo "$CLOSED" | field "d['throughput']")
HALF=$(python3 -c "print(round($TPS / 2, 1))")
OPEN=$("$LOADGEN" --url "$URL" --ca "$CA" --form "$FORM" --connections 64 --duration "$DURATION" --rate "$HALF")

python3 - "$CLOSED" "$OPEN" "$SIGN_PER_CORE" "$CORES" "$RAW" <<'PY'
import json, sys
closed, open_, per_core, cores, raw = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
print(json.dumps({
    "benchmark": "client_credentials token issuance, HTTPS keep-alive, 64 connections",
    "baseline": {"openssl_rsa2048_sign_per_s_per_core": per_core, "cores": cores, "raw_sign_limit_per_s": raw},
    "tokens_per_s": round(closed["throughput"], 1),
    "ratio_to_raw_sign_limit": round(closed["throughput"] / raw, 3),
    "closed_loop": closed,
    "half_load_open_loop": open_,
    "p99_ms_at_half_load": open_["latency_ms"]["p99"],
    "errors": closed["errors"] + open_["errors"],
}))
PY
