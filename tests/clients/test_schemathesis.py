"""Property-based run of schemathesis against Palisade's own `/api/openapi.json`: no generated
request — valid, invalid or odd — may get a 5xx (or kill the connection).

The run has its own server (`serve` from conftest) with `throttling = "off"`: quotas are a
process-wide setting with no per-tenant override, and under the real ones (2/min for getPackageUri,
10/min for batchUpdate and live response) the run would mostly measure 429s. Its device agent
leaves new actions Pending for 15 s: long enough for the scans queued just before the run to be
cancelled by it, short enough for the seeded collection and live response to complete, so the
package and live-response links can be fetched.

The server is seeded (`palisade seed`) and given indicators, a collected investigation package, a
completed live response, an isolated device and pending actions; their ids go to the hooks
(schemathesis_hooks.py), which make them the path parameters' examples and mix them into generated
path parameters and bodies, so the run reaches past each handler's 404.

`test_hostile_odata_queries` adds the inputs a generator does not find on its own — filters at and
past the nesting and length limits, thousands of `$orderby` terms — each of which once crashed or
failed the server.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from conftest import serve
from helpers import MDE_SCOPE, MTP_RESOURCE

HERE = Path(__file__).resolve().parent

# Settings that have no flag.
SERVER_CONFIG = """\
throttling = "off"

[agent]
pickup_delay_secs = 15
run_delay_secs = 0.2
"""

# Schemathesis settings that have no flag: in the fuzzing phase, path parameters come from the
# generator and the hooks' seeded ids half and half, not from ids seen in earlier responses (which
# would leave odd ids — the ones that find crashes — nearly untried).
SCHEMATHESIS_CONFIG = """\
[phases.fuzzing.extra-data-sources]
responses = false
"""

# The broadest WindowsDefenderATP application role of each operation Palisade serves, and Microsoft
# Threat Protection's for the incidents.
MDE_ROLES = [
    "Alert.ReadWrite.All", "Machine.ReadWrite.All", "Machine.Isolate", "Machine.RestrictExecution",
    "Machine.Scan", "Machine.CollectForensics", "Machine.Offboard", "Machine.StopAndQuarantine",
    "Machine.LiveResponse", "File.Read.All", "Ip.Read.All", "Url.Read.All", "User.Read.All",
    "Ti.ReadWrite.All", "Palisade.Ingest.All",
]
MTP_ROLES = ["Incident.ReadWrite.All"]

# Examples per operation (fuzzing phase): about 7,000 requests, 80-110 s on two cores against a
# debug build, with the seeding under two minutes in all. More finds more:
# PALISADE_ST_MAX_EXAMPLES=300 is about 20,000 requests in four to five minutes.
MAX_EXAMPLES = int(os.environ.get("PALISADE_ST_MAX_EXAMPLES", "75"))
SEED = int(os.environ.get("PALISADE_ST_SEED", "20260101"))
RUN_TIMEOUT = 900


@dataclass
class Seeded:
    p: object
    mde: "Api"
    mtp: "Api"
    params: dict
    bodies: dict


class Api:
    def __init__(self, p, token: str):
        self.base = f"{p.base_url}/api"
        self.token = token
        self.verify = str(p.bundle_path)  # per request: REQUESTS_CA_BUNDLE would beat Session.verify
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kw) -> requests.Response:
        return self.s.get(self.base + path, timeout=60, verify=self.verify, **kw)

    def call(self, method: str, path: str, want: int = 200, **kw):
        r = self.s.request(method, self.base + path, timeout=60, verify=self.verify, **kw)
        assert r.status_code == want, (method, path, r.status_code, r.text)
        return r.json() if r.content else None


def _token(p, app: dict, scope: str) -> str:
    r = requests.post(p.token_url(v2=True), verify=str(p.bundle_path), timeout=30, data={
        "grant_type": "client_credentials", "client_id": app["app_id"],
        "client_secret": app["secret"], "scope": scope,
    })
    assert r.status_code == 200, r.text
    return p.remember_secret("schemathesis token", r.json()["access_token"])


def _all_roles_app(p) -> dict:
    reg = p.cli("app", "register", "--name", "schemathesis", "--audience", "single",
                tenant=p.tenant_id)
    app_id = reg["application"]["appId"]
    for api, roles in (("WindowsDefenderATP", MDE_ROLES), ("Microsoft Threat Protection", MTP_ROLES)):
        for role in roles:
            p.cli("app", "permission", "add", "--app", app_id, "--api", api, "--permission", role,
                  "--type", "application", tenant=p.tenant_id)
    consent = p.cli("app", "consent", "--app", app_id, tenant=p.tenant_id)
    assert set(MDE_ROLES + MTP_ROLES) <= set(consent.get("appRolesGranted", [])), consent
    sec = p.cli("app", "secret", "add", "--app", app_id, tenant=p.tenant_id)
    secret = p.remember_secret("schemathesis secret", sec["passwordCredential"]["secretText"])
    return {"app_id": app_id, "secret": secret}


def _wait_succeeded(api: Api, action_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = api.call("GET", f"/machineactions/{action_id}")["status"]
        if status == "Succeeded":
            return
        assert status in ("Pending", "InProgress"), status
        time.sleep(0.2)
    pytest.fail(f"action {action_id} did not succeed within 60 s")


def _seed(p, mde: Api, mtp: Api) -> tuple[dict, dict]:
    """Loads the sample fleet and creates what only API calls make; returns the ids of each kind
    for the hooks, per documented path parameter and per body property."""
    loaded = p.cli("seed", "--machines", "40", "--alerts", "150", tenant=p.tenant_id)
    assert loaded["machines"] == 40 and loaded["alerts"] == 150, loaded
    machines = mde.call("GET", "/machines?$top=100")["value"]
    alerts = mde.call("GET", "/alerts?$top=100&$expand=evidence")["value"]
    incidents = mtp.call("GET", "/incidents?$top=50")["value"]
    # Inactive devices are offline: their actions would wait, then time out.
    online = [m for m in machines if m["osPlatform"].startswith("Windows") and m["healthStatus"] == "Active"]
    assert len(online) >= 7, [(m["osPlatform"], m["healthStatus"]) for m in machines]

    sha1s, users, ips, domains = set(), set(), set(), set()
    for a in alerts:
        sha1s.update(e["sha1"] for e in a["evidence"] if e.get("sha1"))
        if a.get("relatedUser"):
            users.add(a["relatedUser"]["userName"])
    for a in alerts[:20]:
        ips.update(i["id"] for i in mde.call("GET", f"/alerts/{a['id']}/ips")["value"])
        domains.update(d["host"] for d in mde.call("GET", f"/alerts/{a['id']}/domains")["value"])
    ips.update(m["lastIpAddress"] for m in machines if m.get("lastIpAddress"))

    # Enough indicators that the deletes of the run do not use them all up.
    imported = mde.call("POST", "/indicators/import", json={"Indicators": [
        {"indicatorValue": f"203.0.113.{n}", "indicatorType": "IpAddress", "action": "Alert",
         "title": "seeded", "description": "seeded for schemathesis"} for n in range(1, 41)]})["value"]
    assert not any(r["isFailed"] for r in imported), imported
    indicators = [r["id"] for r in imported]

    comment = {"Comment": "seeded for schemathesis"}
    collect = mde.call("POST", f"/machines/{online[0]['id']}/collectInvestigationPackage",
                       201, json=comment)["id"]
    live = mde.call("POST", f"/machines/{online[1]['id']}/runliveresponse", 201, json={
        **comment, "Commands": [{"type": "RunScript", "params": [{"key": "ScriptName", "value": "a.ps1"}]}]})["id"]
    isolate = mde.call("POST", f"/machines/{online[2]['id']}/isolate", 201, json=comment)["id"]
    restrict = mde.call("POST", f"/machines/{online[3]['id']}/restrictCodeExecution", 201, json=comment)["id"]
    for a in (collect, live, isolate, restrict):
        _wait_succeeded(mde, a)
    # Pending for the first seconds of the run, first among the examples: what cancel cancels.
    pending = [mde.call("POST", f"/machines/{m['id']}/runAntiVirusScan", 201,
                        json={**comment, "ScanType": "Quick"})["id"] for m in online[4:7]]
    actions = pending + [a["id"] for a in mde.call("GET", "/machineactions")["value"] if a["id"] not in pending]

    machine_ids = [m["id"] for m in machines]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    by_segment = {
        ("alerts", "id"): [a["id"] for a in alerts],
        ("machines", "id"): machine_ids + [machines[0]["computerDnsName"]],
        ("machines", "ip"): sorted(ips),
        ("machines", "timestamp"): [now],
        ("machineactions", "id"): actions,
        ("files", "id"): sorted(sha1s),
        ("ips", "ip"): sorted(ips),
        ("domains", "domain"): sorted(domains),
        ("users", "id"): sorted(users),
        ("indicators", "id"): indicators,
        ("incidents", "id"): [i["incidentId"] for i in incidents],
    }
    for kind, ids in by_segment.items():
        assert ids, f"nothing seeded for {kind}"
    params = {}
    for path in _document(p)["paths"]:
        segment = path.split("/")[1]
        names = [part.split("}")[0] for part in path.split("{")[1:]]
        params[path] = {n: by_segment[(segment, n)] for n in names if (segment, n) in by_segment}
    # The devices that can be released come first: the examples phase uses the first three ids.
    for path, device in (("unisolate", online[2]), ("unrestrictCodeExecution", online[3])):
        params[f"/machines/{{id}}/{path}"] = {"id": [device["id"]] + machine_ids}
    params["/machineactions/{id}/getPackageUri"] = {"id": [collect]}
    params["/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})"] = {"id": [live], "index": [0]}
    bodies = {"alertIds": by_segment[("alerts", "id")], "MachineIds": machine_ids,
              "IndicatorIds": indicators, "Sha1": sorted(sha1s)}
    return params, bodies


def _document(p) -> dict:
    r = requests.get(f"{p.base_url}/api/openapi.json", verify=str(p.bundle_path), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def seeded(request):
    with serve(request, port_443=False, drop_in=False, config=SERVER_CONFIG) as p:
        app = _all_roles_app(p)
        mde = Api(p, _token(p, app, MDE_SCOPE))
        mtp = Api(p, _token(p, app, MTP_RESOURCE + "/.default"))
        params, bodies = _seed(p, mde, mtp)
        yield Seeded(p, mde, mtp, params, bodies)


def test_schemathesis_finds_no_server_error(seeded, tmp_path):
    p = seeded.p
    log = tmp_path / "statuses.log"
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"tokens": {"mde": seeded.mde.token, "mtp": seeded.mtp.token},
                                "params": seeded.params, "bodies": seeded.bodies, "log": str(log)}))
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    env = dict(p.client_env)
    env.update({"SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE),
                "PALISADE_ST_DATA": str(data)})
    argv = [str(Path(sys.executable).parent / "schemathesis"), "--no-color",
            "--config-file", str(config), "run", f"{p.base_url}/api/openapi.json",
            "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
            # One worker: schemathesis' generation is not reliably thread-safe (spurious internal
            # errors with two), and the server has the other core.
            "--workers", "1",
            "--tls-verify", str(p.bundle_path), "--request-timeout", "30",
            # A transient connection failure (seen once: TLS EOF on a reused keep-alive
            # connection, server healthy) passes on retry; a crash fails every retry.
            "--request-retries", "2",
            "--generation-database", "none", "--generation-with-security-parameters", "false",
            "--max-failures", "20"]
    started = time.monotonic()
    res = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    elapsed = time.monotonic() - started

    # The hooks log every answer: "<METHOD> <documented path>\t<status>\t<URL>".
    by_op = collections.defaultdict(collections.Counter)
    server_errors = []
    for line in (log.read_text().splitlines() if log.exists() else []):
        op, status, url = line.split("\t")
        by_op[op][int(status)] += 1
        if int(status) >= 500:
            server_errors.append(f"{op.split()[0]} {url} -> {status}")
    calls = sum(sum(c.values()) for c in by_op.values())
    summary = "\n".join(f"  {op}: {dict(sorted(c.items()))}" for op, c in sorted(by_op.items()))
    report = (f"schemathesis exited {res.returncode} after {elapsed:.0f} s, {calls} calls\n{summary}\n"
              f"--- schemathesis output (tail) ---\n{res.stdout[-15000:]}\n{res.stderr[-3000:]}")
    print(report)

    # A 5xx, a dropped connection (a panic) or any other failure schemathesis reports, with the
    # request to reproduce it (schemathesis prints it as curl).
    assert not server_errors and res.returncode == 0, "\n".join(server_errors[:20]) + "\n" + report
    # The CLI leaves out the operation that served it the schema (GET /openapi.json, fetched above).
    documented = {f"{m.upper()} {path}" for path, item in _document(p)["paths"].items() for m in item
                  if path != "/openapi.json"}
    assert documented <= set(by_op), f"never called: {sorted(documented - set(by_op))}\n{report}"
    assert not any(429 in by_op[op] for op in documented), report
    # Past validation at least once each: the run reached what a real id unlocks.
    never_ok = sorted(op for op in documented if not any(200 <= s < 300 for s in by_op[op]))
    assert not never_ok, f"operations that never answered 2xx: {never_ok}\n{report}"


def _nested(depth: int, inner: str) -> str:
    return "(" * depth + inner + ")" * depth


def test_hostile_odata_queries(seeded):
    """What the limits of palisade-odata (32 levels of nesting, 100 and/or operators, repeated
    $orderby terms dropped) protect: each of these once overflowed a worker's stack, which aborts
    the server, or failed in SQLite with a 500."""
    mde, mtp = seeded.mde, seeded.mtp
    collections_ = [(mde, "/machines", "id", "'a'"), (mde, "/machines/$count", "id", "'a'"),
                    (mde, "/alerts", "severity", "'High'"), (mde, "/alerts/$count", "status", "'New'"),
                    (mde, "/machineactions", "status", "'Pending'"), (mde, "/indicators", "title", "'x'"),
                    (mtp, "/incidents", "status", "'Active'")]
    for api, path, prop, lit in collections_:
        # At the limits — the whole filter is level 1, 29 parentheses, 'not', one more '(' = 32;
        # 100 operators, left-deep — the deepest tree accepted: answered.
        chain = " or ".join([f"not ({prop} eq {lit})"] * 50 + [f"{prop} eq {lit}"] * 51)
        r = api.get(path, params={"$filter": _nested(29, chain)})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        for hostile in (_nested(5_000, f"{prop} eq {lit}"),                 # parentheses
                        "not " * 5_000 + f"{prop} eq {lit}",               # not
                        " or ".join([f"{prop} eq {lit}"] * 1_000),          # a long chain
                        _nested(30, chain)):                               # one level too deep
            r = api.get(path, params={"$filter": hostile})
            assert r.status_code == 400 and r.json()["error"]["code"] == "ODataError", \
                (path, hostile[:60], r.status_code, r.text[:300])
    r = mde.get("/machines", params={"$filter": " or ".join(["machineTags/any(t: not (t eq 'a'))"] * 101)})
    assert r.status_code == 200, r.text[:300]
    # 2,100 $orderby terms are past SQLite's 2,000; the repeats are dropped.
    r = mde.get("/machines", params={"$orderby": ",".join(["id"] * 2_100)})
    assert r.status_code == 200, r.text[:300]
    # A multi-byte character across byte 9 of a device id (the findbyip( prefix check).
    assert mde.get("/machines/abcdefgh\u00e9xx").status_code == 404
    assert requests.get(f"{seeded.p.base_url}/healthz", verify=mde.verify, timeout=30).status_code == 200
