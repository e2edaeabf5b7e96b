"""`brownout init DIR [--host URL]`: a starter for your own service: DIR/scenario.toml (a short, fault-free
load of GET / that passes when it answers 200), DIR/locustfile.py and a commented DIR/stack.toml. The
comments show how to add proxies, components and each fault kind; docs/own-service.md is the reference.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from brownout.errors import InputError

SCENARIO = """\
# A first scenario for your own service: `brownout run {dir}/scenario.toml` from any folder (results go
# to ./results/<run-id>/). As written it runs 12 s of GET / without faults and passes when the service
# answers 200. Every field: docs/own-service.md in brownout's repository.
name = "{name}"
description = "fault-free GET / against my service"

# Your running service. `brownout run ... --host URL` overrides the host.
[target]
host = "{host}"
# Faults reach your service through endpoints; give the ones your faults need (tokens: `token = "..."`,
# or BROWNOUT_TOKEN in the environment):
# [target.proxy]                    # network faults: a Toxiproxy-compatible proxy in front of a dependency
# url = "http://127.0.0.1:8474"     # (`brownout proxy --port 8474 --config proxies.json`, or real Toxiproxy)
# [target.control]                  # component faults: the control API of a stack brownout started
# url = "http://127.0.0.1:8470"
# [target.admin]                    # app faults: an admin API with the sample target's /admin/faults contract
# url = "http://127.0.0.1:8000"
#
# Or let brownout start your service, its dependencies and the fault proxy (see stack.toml here):
# replace [target] with
# [stack]
# path = "stack.toml"

[load]
locustfile = "locustfile.py"        # relative to this file's folder
steps = [                           # rising load: users, how fast they start, how long each step lasts
    {{ users = 2, spawn_rate = 2, duration = "6s" }},
    {{ users = 4, spawn_rate = 2, duration = "6s" }},
]

# One [[faults]] table per fault; `at` (or `when_users = 4`) says when it starts, `duration` how long it lasts.
# network: a toxic on the proxy named `target` (or the proxy down), through [target.proxy]
# [[faults]]
# name = "db-slow"
# kind = "network"
# target = "db"                     # the proxy's name
# toxic = "latency"                 # latency, timeout, reset_peer, bandwidth, slow_close, limit_data, slicer
# attributes = {{ latency = 300, jitter = 50 }}
# at = "5s"
# duration = "5s"
#
# [[faults]]                        # the link down
# name = "db-down"
# kind = "network"
# target = "db"
# down = true
# at = "12s"
# duration = "4s"
#
# component: kill (healed by a start), restart, or freeze (SIGSTOP, healed by SIGCONT), through [target.control]
# [[faults]]
# name = "db-restart"
# kind = "component"
# target = "db"                     # a component of the stack
# action = "restart"
# at = "5s"
# duration = "10s"
#
# app: an error rate / latency inside the service's client of a dependency, through [target.admin]
# [[faults]]
# name = "upstream-errors"
# kind = "app"
# target = "api"
# dependency = "upstream"
# error_rate = 0.5                  # and/or latency_ms = 200
# at = "5s"
# duration = "5s"
#
# http: any request at inject and at heal (your own chaos endpoints)
# [[faults]]
# name = "cache-off"
# kind = "http"
# target = "cache"
# inject = {{ method = "POST", url = "http://127.0.0.1:9000/chaos/cache/off" }}
# heal = {{ method = "POST", url = "http://127.0.0.1:9000/chaos/cache/on" }}
# at = "5s"
# duration = "5s"
#
# command: an argv list at inject and at heal, never a shell string
# [[faults]]
# name = "db-paused"
# kind = "command"
# target = "db"
# inject = ["docker", "pause", "my-db"]
# heal = ["docker", "unpause", "my-db"]
# at = "5s"
# duration = "5s"

# When acknowledged writes are read back (after every fault is healed); optional.
# [audit]
# ready = "/health"                 # GET until 200 first (default: until the host answers at all)
# ready_timeout = "30s"

[criteria]
error_ratio_max = 0.01              # outside fault windows, at most 1 % of requests may fail
p95_target_ms = 1000                # per load step
availability_min = 0.60             # during each fault window: (ok + degraded) / all
recovery_max_s = 30                 # heal -> back to the pre-fault steady state
"""

LOCUSTFILE = '''\
"""Users for my service: plain Locust (https://docs.locust.io/en/stable/writing-a-locustfile.html).

`brownout run scenario.toml` loads brownout's plugin and the scenario's load shape next to this file, so it
needs nothing from brownout except to tell it about writes the service acknowledged (below).
"""

from locust import HttpUser, between, task

# import brownout


class WebUser(HttpUser):
    wait_time = between(0.2, 0.5)

    @task
    def index(self) -> None:
        with self.client.get("/", catch_response=True, timeout=10) as response:
            if response.status_code != 200:
                response.failure(f"GET / answered {response.status_code}")

    # A write the service acknowledged is remembered, and read back after the faults are healed:
    # @task
    # def create(self) -> None:
    #     response = self.client.post("/records", json={"name": "x"}, timeout=10)
    #     if response.status_code == 201:
    #         brownout.acknowledge(self.environment, "records", response.json()["id"])


# Reads acknowledged "records" back through the service's normal API once the faults are healed (Jepsen's
# final read). `client` is a requests.Session on the host; return the ids found. Not found: lost; found
# twice: duplicated; an exception: unverifiable (the integrity check is then unknown, not passed).
# @brownout.audit("records")
# def read_back(client, ids):
#     return [i for i in ids if client.get(f"/records/{i}").status_code == 200]
'''

STACK = """\
# A stack brownout starts and stops around a run: your service, its dependencies, and the fault proxy
# between them, so that network faults hit real sockets. Use it from scenario.toml with
# `[stack] path = "stack.toml"` instead of [target]. Every field: docs/own-service.md.

[stack]
cwd = "."                           # where commands run, relative to this file
entry = "api"                       # the load goes to this component's URL
proxy_component = "faultproxy"      # the component that serves [[proxies]]
ready_timeout_s = 30
stop_grace_s = 5                    # SIGTERM (or a component's stop signal) -> SIGKILL after this
# control_port = 8470               # the control API (component faults), in fixed-ports mode

# Placeholders in command, env and ready: {python} {name} {port} {data_dir} {run_dir} {token}
# {proxy_config} {ports.<component>} {proxies.<proxy>}.

[[components]]
name = "db"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]  # your database here
port = 5432                         # the port in fixed-ports mode; runs get free ports
restart = "on-failure"              # or "never"
critical = true                     # false: the stack still comes up when this one does not
stop_signal = "SIGTERM"             # what stops it cleanly (PostgreSQL: "SIGINT", its fast shutdown)
stop_timeout = 10                   # seconds before SIGKILL
# ready = "/health"                 # an HTTP path; absent: a TCP connect to the port; or a command that
#                                   # exits 0 when ready: ["pg_isready", "-h", "127.0.0.1", "-p", "{port}"]
# env = { PGDATA = "{data_dir}" }

[[components]]
name = "faultproxy"
command = ["{python}", "-m", "brownout", "proxy", "--port", "{port}", "--config", "{proxy_config}"]
port = 8474
ready = "/healthz"
restart = "on-failure"

[[components]]
name = "api"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]  # your service here,
port = 8000                         # told to reach its database at 127.0.0.1:{proxies.db}
ready = "/"
restart = "on-failure"

[[proxies]]                         # network faults target a proxy by its name
name = "db"
listen = 15432
upstream = "db"                     # a component
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brownout init", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="folder to write scenario.toml, locustfile.py and stack.toml into")
    parser.add_argument("--host", help="your running service's URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--force", action="store_true", help="overwrite files that are already there")
    return parser


def write_starter(directory: Path, host: str | None, force: bool = False) -> list[Path]:
    if host is not None and not host.startswith(("http://", "https://")):
        raise InputError(f"--host must be an http:// or https:// URL, got {host!r}")
    files = {
        directory / "scenario.toml": SCENARIO.format(
            dir=directory, name=directory.resolve().name or "my-service",
            host=(host or "http://127.0.0.1:8000").rstrip("/"),
        ),
        directory / "locustfile.py": LOCUSTFILE,
        directory / "stack.toml": STACK,
    }  # fmt: skip
    present = [path for path in files if path.exists()]
    if present and not force:
        raise InputError(f"{', '.join(map(str, present))} already there; --force overwrites")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    written = write_starter(Path(args.dir), args.host, args.force)
    print("wrote " + ", ".join(str(path) for path in written))
    if args.host is None:
        print(f"next: set [target] host in {written[0]} (or pass --host URL), then `brownout run {written[0]}`")
    else:
        print(f"next: brownout run {written[0]}")
    return 0
