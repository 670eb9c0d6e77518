"""Domain errors: what a use case can refuse, independent of any transport.

Stdlib only, so domain modules may raise them. The kit's error interceptor maps each class to one gRPC
status code and a `google.rpc.ErrorInfo` (reason + metadata) once, for every service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class DomainError(Exception):
    """Base class. `reason` is an UPPER_SNAKE_CASE machine-readable code (ErrorInfo.reason)."""

    reason: str = "ERROR"

    def __init__(self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class NotFound(DomainError):
    """The resource does not exist (NOT_FOUND)."""

    reason = "NOT_FOUND"


class PermissionDenied(DomainError):
    """Authenticated but not allowed, including someone else's resource (PERMISSION_DENIED)."""

    reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    """No valid credentials (UNAUTHENTICATED)."""

    reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the operation, e.g. OUT_OF_STOCK (FAILED_PRECONDITION)."""

    reason = "FAILED_PRECONDITION"


class Conflict(DomainError):
    """A concurrent change or a stale version; retrying the whole operation may succeed (ABORTED)."""

    reason = "CONFLICT"


class AlreadyExists(DomainError):
    """A resource with the same unique key exists (ALREADY_EXISTS)."""

    reason = "ALREADY_EXISTS"


class Unavailable(DomainError):
    """Something the operation needs (an outside provider, a store) is down; retrying later may work
    (UNAVAILABLE)."""

    reason = "UNAVAILABLE"


class RateLimited(DomainError):
    """Too many attempts; `retry_after_seconds` says when to come back (RESOURCE_EXHAUSTED)."""

    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: float = 0.0, reason: str | None = None):
        super().__init__(message, reason=reason, metadata={"retry_after_seconds": f"{retry_after_seconds:.0f}"})
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: `field` is a dotted path such as `address.postal_code`."""

    field: str
    description: str
    reason: str = ""


@dataclass
class InvalidArgument(DomainError):
    """Input that passed the contract's rules but breaks a domain rule (INVALID_ARGUMENT + BadRequest)."""

    message: str
    violations: Sequence[FieldViolation] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__init__(self.message, reason="INVALID_ARGUMENT")
