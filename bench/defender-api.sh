#!/usr/bin/env bash
# Benchmark: Defender API reads with full token validation, against a static route of the same
# body size served by the same binary (no auth, no storage), measured in the same run.
#
#   bench/defender-api.sh [--machines N] [--alerts N] [--duration SECONDS] [--perf FILE]
#
# --perf FILE records a CPU profile of the server (perf record -g) during the single-machine run.
#
# Seeds a deterministic fleet (default 100,000 machines, 1,000,000 alerts), then prints one JSON
# line: requests/s of GET /api/machines/{id} and of an indexed alert filter ($top=100), each as a
# ratio to the static baseline, and the filter's latency (p50/p99) on one connection.
set -euo pipefail
cd "$(dirname "$0")/.."
MACHINES=100000
ALERTS=1000000
DURATION=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --machines) MACHINES="$2"; shift 2 ;;
    --alerts) ALERTS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --perf) PERF_OUT="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cargo build --release -q -p palisade-cli -p palisade-bench
BIN=target/release/palisade
LOADGEN=target/release/palisade-loadgen
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
printf 'throttling = "off"\n' >"$WORK/palisade.toml"

"$BIN" serve --config "$WORK/palisade.toml" --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --log warn --output json >"$WORK/banner.json" 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 100); do grep -q '"started"' "$WORK/banner.json" 2>/dev/null && break; sleep 0.1; done
SERVER="https://127.0.0.1:$PORT"
P() { "$BIN" "$@" --config "$WORK/palisade.toml" --data-dir "$WORK/data" --server "$SERVER" --output json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
TENANT=$(field "d['firstRun']['tenantId']" <"$WORK/banner.json")
CA="$WORK/data/tls/ca.pem"

SEED_START=$(date +%s.%N)
P seed --machines "$MACHINES" --alerts "$ALERTS" --seed 1 --days 7 >"$WORK/seed.json"
SEED_SECS=$(python3 -c "import time; print(round(time.time() - $SEED_START, 1))")

APP=$(P app register --name bench --audience single | field "d['application']['appId']")
for perm in Machine.Read.All Alert.Read.All; do
  P app permission add --app "$APP" --api WindowsDefenderATP --permission "$perm" --type application >/dev/null
done
P app consent --app "$APP" >/dev/null
SECRET=$(P app secret add --app "$APP" | field "d['passwordCredential']['secretText']")
TOKEN=$(curl -sf --cacert "$CA" --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$APP" \
  --data-urlencode "client_secret=$SECRET" --data-urlencode "scope=https://api.securitycenter.microsoft.com/.default" \
  "$SERVER/$TENANT/oauth2/v2.0/token" | field "d['access_token']")

# A machine in the middle of the fleet, its JSON size, and the static route of that size.
MID=$(curl -sf --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$SERVER/api/machines?\$top=1&\$skip=$((MACHINES / 2))" | field "d['value'][0]['id']")
MACHINE_URL="$SERVER/api/machines/$MID"
MACHINE_BYTES=$(curl -sf --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$MACHINE_URL" | wc -c)
FILTER="\$filter=severity+eq+'High'+and+status+eq+'New'&\$top=100"
ALERTS_URL="$SERVER/api/alerts?$FILTER"
ALERTS_BYTES=$(curl -sf --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$ALERTS_URL" | wc -c)

run() { "$LOADGEN" --url "$1" --ca "$CA" --connections "$2" --duration "$DURATION" ${3:+--bearer "$3"}; }
if [[ -n "${PERF_OUT:-}" ]]; then
  perf record -F 499 -g -p "$PID" -o "$PERF_OUT" -- sleep "$DURATION" 2>/dev/null &
  PERF_PID=$!
fi
M=$(run "$MACHINE_URL" 32 "$TOKEN")
[[ -n "${PERF_PID:-}" ]] && wait "$PERF_PID"
MS=$(run "$SERVER/palisade/bench/static?bytes=$MACHINE_BYTES" 32)
A=$(run "$ALERTS_URL" 32 "$TOKEN")
AS=$(run "$SERVER/palisade/bench/static?bytes=$ALERTS_BYTES" 32)
A1=$(run "$ALERTS_URL" 1 "$TOKEN")

python3 - "$M" "$MS" "$A" "$AS" "$A1" "$MACHINE_BYTES" "$ALERTS_BYTES" "$SEED_SECS" "$(cat "$WORK/seed.json")" <<'PY'
import json, sys
m, ms, a, as_, a1 = (json.loads(x) for x in sys.argv[1:6])
print(json.dumps({
    "benchmark": "Defender API reads with full token validation vs a static route of equal size, HTTPS keep-alive, 32 connections",
    "fleet": json.loads(sys.argv[9]), "seed_seconds": float(sys.argv[8]),
    "get_machine": {"rps": round(m["throughput"], 1), "static_rps": round(ms["throughput"], 1),
                    "ratio_to_static": round(m["throughput"] / ms["throughput"], 3), "body_bytes": int(sys.argv[6]),
                    "p50_ms": m["latency_ms"]["p50"], "errors": m["errors"] + ms["errors"]},
    "alert_filter_top100": {"rps": round(a["throughput"], 1), "static_rps": round(as_["throughput"], 1),
                            "ratio_to_static": round(a["throughput"] / as_["throughput"], 3), "body_bytes": int(sys.argv[7]),
                            "errors": a["errors"] + as_["errors"]},
    "alert_filter_latency_one_connection_ms": {"p50": a1["latency_ms"]["p50"], "p99": a1["latency_ms"]["p99"]},
}))
PY
