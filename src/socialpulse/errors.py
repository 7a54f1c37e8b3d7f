"""Typed business errors. Each carries its HTTP status; a 500 means a bug.

Every error response has one shape: {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(AppError):
    status_code = 403
    code = "permission_denied"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int | None = None, details: Any = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class InsufficientCredits(AppError):
    status_code = 402
    code = "insufficient_credits"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
