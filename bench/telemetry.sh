#!/usr/bin/env bash
# Benchmark: telemetry generation + Parquet storage, HTTP ingestion, and `palisade demo` start-up,
# each against the goal of issue 4 in the same run.
#
#   bench/telemetry.sh [--devices N] [--days N] [--rate N] [--ingest-rows N] [--connections N]
#
# Defaults: 1,000 devices x 7 days at 68 events per device-hour (about 10 million rows: inactive
# devices fall silent after they were last seen) for
# generation + storage; 2,000,000 rows over HTTP as Arrow IPC on 4 connections. Prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICES=1000
DAYS=7
RATE=68
INGEST_ROWS=2000000
CONNECTIONS=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --devices) DEVICES="$2"; shift 2 ;;
    --days) DAYS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --ingest-rows) INGEST_ROWS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cargo build --release -q -p palisade-cli
cargo build --release -q -p palisade-simulator --examples
BIN=target/release/palisade
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
cleanup() {
  for p in ${PID:-} ${DEMO_PID:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
kv() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

# 1. Generation + storage, and generation alone.
GEN=$(target/release/examples/throughput "$DEVICES" "$DAYS" "$RATE" "$WORK/gen")
GEN_ONLY=$(target/release/examples/throughput "$DEVICES" "$DAYS" "$RATE" "$WORK/gen2" --generate-only)
rm -rf "$WORK/gen" "$WORK/gen2"

# 2. Ingestion over HTTPS into a release server.
printf 'throttling = "off"\n' >"$WORK/palisade.toml"
"$BIN" serve --config "$WORK/palisade.toml" --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --log warn --output json >"$WORK/banner.json" 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 100); do grep -q '"started"' "$WORK/banner.json" 2>/dev/null && break; sleep 0.1; done
SERVER="https://127.0.0.1:$PORT"
P() { "$BIN" "$@" --config "$WORK/palisade.toml" --data-dir "$WORK/data" --server "$SERVER" --output json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
TENANT=$(field "d['firstRun']['tenantId']" <"$WORK/banner.json")
CA="$WORK/data/tls/ca.pem"
APP=$(P app register --name ingest-bench --audience single | field "d['application']['appId']")
P app permission add --app "$APP" --api WindowsDefenderATP --permission Palisade.Ingest.All --type application >/dev/null
P app consent --app "$APP" >/dev/null
SECRET=$(P app secret add --app "$APP" | field "d['passwordCredential']['secretText']")
TOKEN=$(curl -sf --cacert "$CA" --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$APP" \
  --data-urlencode "client_secret=$SECRET" --data-urlencode "scope=https://api.securitycenter.microsoft.com/.default" \
  "$SERVER/$TENANT/oauth2/v2.0/token" | field "d['access_token']")
INGEST=$(target/release/examples/ingest_http "$SERVER" "$TOKEN" "$CA" "$INGEST_ROWS" "$CONNECTIONS")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

# 3. `palisade demo` on an empty directory: seconds until the API answers with the data loaded.
DEMO_PORT=$((PORT + 1))
"$BIN" demo --data-dir "$WORK/demo" --listen "127.0.0.1:$DEMO_PORT" --output json >"$WORK/demo.json" 2>"$WORK/demo.log" &
DEMO_PID=$!
for _ in $(seq 600); do grep -q '"ready"' "$WORK/demo.json" 2>/dev/null && break; sleep 0.1; done
DEMO_READY=$(python3 -c "import json; print(json.load(open('$WORK/demo.json'))['readySeconds'])" 2>/dev/null || echo null)

python3 - "$GEN" "$GEN_ONLY" "$INGEST" "$DEMO_READY" "$DEVICES" "$DAYS" <<'PY'
import json, re, sys
gen, gen_only, ingest, demo, devices, days = sys.argv[1:]
kv = lambda s, k: float(re.search(rf"{k}=([0-9.]+)", s).group(1))
out = {
    "devices": int(devices), "days": int(days),
    "rows": int(kv(gen, "rows")),
    "generate_and_store_events_per_s": round(kv(gen, "events_per_s")),
    "generate_only_events_per_s": round(kv(gen_only, "events_per_s")),
    "ratio_to_goal_500k": round(kv(gen, "events_per_s") / 500_000, 2),
    "http_ingest_rows": int(kv(ingest, "rows")),
    "http_ingest_rows_per_s": round(kv(ingest, "rows_per_s")),
    "http_ratio_to_goal_200k": round(kv(ingest, "rows_per_s") / 200_000, 2),
    "demo_ready_seconds": None if demo == "null" else float(demo),
}
print(json.dumps(out))
PY
