"""The one error type of the proxy's API: a reason and the HTTP status that goes with it."""

from __future__ import annotations


class ApiError(Exception):
    """A request the proxy cannot honour; answered as `{"error": message, "status": status}`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def as_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}
