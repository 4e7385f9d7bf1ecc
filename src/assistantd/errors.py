"""Errors in OpenAI's shape: the one hierarchy and the one place that renders it.

Every non-2xx answer is `{"error": {"message", "type", "param", "code"}}` with the
status code whose exception class the official SDK maps it to:

| status | SDK class                | raised here as       |
|--------|--------------------------|----------------------|
| 400    | BadRequestError          | InvalidRequest       |
| 401    | AuthenticationError      | AuthenticationFailed |
| 404    | NotFoundError            | NotFound             |
| 408    | APIStatusError           | RequestTimeout       |
| 413    | APIStatusError           | PayloadTooLarge      |
| 429    | RateLimitError           | RateLimited          |
| 500    | InternalServerError      | (any unhandled bug)  |
"""

from __future__ import annotations

import orjson

__all__ = [
    "APIError",
    "AuthenticationFailed",
    "InvalidRequest",
    "ModelFailed",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "error_body",
]


def error_body(
    message: str, *, type: str, param: str | None = None, code: str | None = None
) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type, "param": param, "code": code}})


class APIError(Exception):
    """An error the client should see, rendered in OpenAI's error shape."""

    status: int = 500
    type: str = "server_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


class InvalidRequest(APIError):
    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(APIError):
    status = 401
    type = "invalid_request_error"

    def __init__(self, message: str, *, code: str = "invalid_api_key") -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class NotFound(APIError):
    status = 404
    type = "invalid_request_error"

    @classmethod
    def object(cls, noun: str, object_id: str) -> NotFound:
        """The wording OpenAI used: `No thread found with id 'thread_x'.`"""
        return cls(f"No {noun} found with id '{object_id}'.")


class PayloadTooLarge(APIError):
    status = 413
    type = "invalid_request_error"


class RequestTimeout(APIError):
    """The client stopped sending its body; the connection is closed after the answer."""

    status = 408
    type = "invalid_request_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="request_timeout", headers={"connection": "close"})


class RateLimited(APIError):
    """A project's requests or tokens per minute are spent. OpenAI's `type` named which
    ("requests" or "tokens"); `retry-after-ms` is what the SDK's retry waits for."""

    status = 429

    def __init__(self, message: str, *, kind: str, headers: dict[str, str]) -> None:
        super().__init__(message, code="rate_limit_exceeded", headers=headers)
        self.type = kind


class ModelFailed(APIError):
    """The model behind a model endpoint failed (an upstream's 5xx, a crashed model
    process); the SDK retries it as it would OpenAI's own 500."""

    status = 500
    type = "server_error"
