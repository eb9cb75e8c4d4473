"""Load for the tiny pipeline: one POST per task (the harness adds pacing and the shape)."""

from locust import FastHttpUser, task


class PipelineUser(FastHttpUser):
    @task
    def predict(self) -> None:
        self.client.post("/predict", json={"x": 1}, name="/predict")
