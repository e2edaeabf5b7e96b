"""The one user both benchmark locustfiles run: a FastHttpUser hitting `/` as fast as it can.

No wait time, so Locust's own process is CPU-bound and any per-request cost of the plugin shows in full.
"""

from locust import FastHttpUser, constant, task


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")
