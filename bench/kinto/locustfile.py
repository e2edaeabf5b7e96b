"""Kinto 26.5.0 (memory or PostgreSQL backend, basic auth): each user writes records into its own collection
and reads them back, the way a sync client does.

On PostgreSQL, two users creating their buckets at the same moment can meet a 409 ("Integrity constraint
violated, please retry": every bucket bumps one shared timestamp row). The 409 counts as the failure it is,
and the user tries again after a short pause, as Kinto asks, instead of working on without a bucket (which
turned every later request of that user into a 403 or 404: one user in eight, 8 % errors). Kinto's own
Retry-After (30 s by default) is meant for overload, not for this race, which clears at once.
"""

import itertools
import time
import uuid

from locust import HttpUser, between, task

import brownout

_NUMBERS = itertools.count(1)
_RUN = uuid.uuid4().hex[:8]  # buckets of their own per run: the memory backend keeps earlier runs' data


class KintoUser(HttpUser):
    wait_time = between(0.1, 0.3)

    def on_start(self) -> None:
        number = next(_NUMBERS)
        self.user = f"u{_RUN}{number}"
        self.client.auth = (self.user, "secret")
        self.path = f"/v1/buckets/b{_RUN}{number}/collections/c"
        self._create(f"/v1/buckets/b{_RUN}{number}", "PUT bucket")
        self._create(self.path, "PUT collection")
        self.ids: list[str] = []

    def _create(self, path: str, name: str, tries: int = 5) -> None:
        for _ in range(tries):
            if self.client.put(path, json={}, name=name, timeout=10).status_code != 409:
                return
            time.sleep(0.2)

    @task(2)
    def create(self) -> None:
        with self.client.post(f"{self.path}/records", json={"data": {"title": "x", "done": False}},
                              name="POST records", catch_response=True, timeout=10) as response:
            if response.status_code == 201:
                record_id = response.json()["data"]["id"]
                self.ids.append(record_id)
                brownout.acknowledge(self.environment, "records", f"{self.user}|{self.path}|{record_id}")
            else:
                response.failure(f"answered {response.status_code}")

    @task(3)
    def list_records(self) -> None:
        self.client.get(f"{self.path}/records?_limit=20&_sort=-last_modified", name="GET records", timeout=10)

    @task(3)
    def read_one(self) -> None:
        if self.ids:
            self.client.get(f"{self.path}/records/{self.ids[-1]}", name="GET record", timeout=10)


@brownout.audit("records")
def read_back(client, ids):
    found = []
    for key in ids:
        user, path, record_id = key.split("|")
        if client.get(f"{path}/records/{record_id}", auth=(user, "secret"), timeout=10).status_code == 200:
            found.append(key)
    return found
