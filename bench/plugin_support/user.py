"""The one user both benchmark locustfiles run: a FastHttpUser hitting `/` as fast as it can.

No wait time, so Locust's own process is CPU-bound and any per-request cost of the plugin shows in full.

When `BENCH_PLUGIN_SAMPLES` names a file, a greenlet appends `monotonic_s requests cpu_s` to it twice a
second (Locust's request count and this process's CPU time), so the benchmark can measure the steady
part of the run and the CPU per request, which other load on a shared machine does not skew. Both
variants carry it, so it costs them alike (two lines a second).
"""

import os
import resource
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

SAMPLES_ENV = "BENCH_PLUGIN_SAMPLES"
_SAMPLE_EVERY_S = 0.5


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")


def _sample_forever(environment: Environment, path: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        while True:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            requests = environment.stats.total.num_requests  # looked up each time: a test start replaces it
            file.write(f"{time.monotonic()} {requests} {usage.ru_utime + usage.ru_stime}\n")
            file.flush()
            gevent.sleep(_SAMPLE_EVERY_S)


@events.init.add_listener
def _start_sampling(environment: Environment, **_: Any) -> None:
    path = os.environ.get(SAMPLES_ENV)
    if path:
        gevent.spawn(_sample_forever, environment, path)
