"""Schemathesis hooks for test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

The test writes what the run needs to a JSON file named by PALISADE_ST_DATA: the two bearer tokens
(Defender for Endpoint, and Microsoft 365 Defender for /incidents), ids of seeded entities per
documented path parameter and body property, and the file where every answer's status is logged.
Random ids alone would only ever reach the 404 branch of each handler; mixing in real ones makes the
fuzzing reach the code behind it.
"""

from __future__ import annotations

import json
import os
import threading

import schemathesis
from hypothesis import strategies as st

with open(os.environ["PALISADE_ST_DATA"], encoding="utf-8") as f:
    DATA = json.load(f)

_log_lock = threading.Lock()

# Telemetry ingestion takes rows as NDJSON text or an Arrow IPC stream: send generated strings as
# they are, like text/plain and application/octet-stream bodies.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schemathesis.serializer.alias("application/vnd.apache.arrow.stream", "application/octet-stream")


@schemathesis.auth(refresh_interval=None, retry_on=[])
class PalisadeAuth:
    """The incidents API takes a token for the Microsoft 365 Defender resource, every other
    operation one for Defender for Endpoint (an application token carries one resource's roles)."""

    def get(self, case, ctx):
        return DATA["tokens"]["mtp" if ctx.operation.path.startswith("/incidents") else "mde"]

    def set(self, case, data, ctx):
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    """Seeded ids become the examples of the path parameters, so the examples and coverage phases
    call each operation on entities that exist."""
    for path, item in raw_schema.get("paths", {}).items():
        known = DATA["params"].get(path, {})
        for operation in item.values():
            for p in operation.get("parameters", []):
                values = known.get(p["name"]) if p.get("in") == "path" else None
                if values:
                    p["examples"] = {f"seeded{i}": {"value": v} for i, v in enumerate(values[:3])}


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    known = DATA["params"].get(ctx.operation.path, {})
    if not path_parameters or not known:
        return st.just(path_parameters)
    parts = {}
    for name, value in path_parameters.items():
        pool = known.get(name)
        # Half generated (odd ids must get a 4xx), half seeded (to reach what a real id unlocks).
        parts[name] = (st.booleans().flatmap(lambda seeded, v=value, p=pool: st.sampled_from(p) if seeded else st.just(v))
                       if pool else st.just(value))
    return st.fixed_dictionaries(parts)


@schemathesis.hook
def flatmap_body(ctx, body):
    if not isinstance(body, dict):
        return st.just(body)
    options = {}
    for key, pool in DATA["bodies"].items():
        if key in body and pool:
            if isinstance(body[key], list):
                options[key] = st.lists(st.sampled_from(pool), min_size=1, max_size=4)
            else:
                options[key] = st.sampled_from(pool)
    if not options:
        return st.just(body)
    return st.one_of(st.just(body), st.fixed_dictionaries(options).map(lambda o: {**body, **o}))


@schemathesis.hook
def after_call(ctx, case, response):
    # Tab-separated: the documented path, the status, and the URL called (for the report).
    line = f"{case.method.upper()} {case.operation.path}\t{response.status_code}\t{response.request.url}\n"
    with _log_lock, open(DATA["log"], "a", encoding="utf-8") as f:
        f.write(line)
