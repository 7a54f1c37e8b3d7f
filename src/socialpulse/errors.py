"""Typed business errors. Each carries its HTTP status; a 500 means a bug.

Every error response has one shape: {"error": {"code", "message", "details"}}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field


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


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_input.")
    message: str = Field(description="What went wrong, for a person.")
    details: Any = Field(
        default=None, description="Structured context, e.g. the invalid fields; often null."
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx/5xx answer of the JSON API."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "Bad request, e.g. a body that is not UTF-8",
    401: "Missing, unknown or revoked API key",
    402: "Not enough credits",
    403: "The key's role does not allow this",
    404: "Not found in this workspace",
    409: "Conflicts with the current state",
    413: "Request too large",
    422: "Invalid input (`details` lists the fields)",
    429: "Too many requests (see Retry-After)",
    503: "A platform or service is unavailable; retry later",
}


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring the shared error body for these statuses."""
    descriptions = descriptions or {}
    return {
        status: {
            "model": ErrorResponse,
            "description": descriptions.get(status, _ERROR_DESCRIPTIONS.get(status, "Error")),
        }
        for status in statuses
    }
