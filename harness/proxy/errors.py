"""API errors with Toxiproxy's exact messages and status codes (``api.go``)."""

from __future__ import annotations

__all__ = [
    "ApiError",
    "bad_request_body",
    "missing_field",
    "ERR_PROXY_NOT_FOUND",
    "ERR_PROXY_EXISTS",
    "ERR_INVALID_STREAM",
    "ERR_INVALID_TOXIC_TYPE",
    "ERR_TOXIC_EXISTS",
    "ERR_TOXIC_NOT_FOUND",
    "ERR_PROXY_ALREADY_STARTED",
]


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"ApiError({self.message!r}, {self.status})"


def bad_request_body(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(detail: str) -> ApiError:
    return ApiError(f"missing required field: {detail}", 400)


ERR_PROXY_NOT_FOUND = ApiError("proxy not found", 404)
ERR_PROXY_EXISTS = ApiError("proxy already exists", 409)
ERR_INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
ERR_INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
ERR_TOXIC_EXISTS = ApiError("toxic already exists", 409)
ERR_TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
#: Returned by starting a running proxy; ``/reset`` ignores it (never reaches a client).
ERR_PROXY_ALREADY_STARTED = ApiError("Proxy already started", 500)
