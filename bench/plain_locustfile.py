"""A plain locustfile, as any project would have: it knows nothing of brownout."""

from locust import HttpUser, constant, task


class ApiUser(HttpUser):
    wait_time = constant(0)

    @task(3)
    def work(self) -> None:
        self.client.get("/work")

    @task(1)
    def submit(self) -> None:
        self.client.post("/submit", json={"item": 1})
