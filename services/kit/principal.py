"""Who is calling: built by the auth interceptor from a verified access token.

Access token claims (RS256, `kid` in the header), issued by the auth service:
    iss, aud, sub, iat, nbf, exp, jti
    typ    "user" | "service"
    roles  ["buyer"] | ["seller"] | ["admin"] | ["service"]
    scope  space-separated scopes; present only on narrowed (delegated) tokens, e.g. "catalog:read cart:write"
    act    {"sub": "buddy"} on a token obtained by ExchangeToken: the service acting for the user (RFC 8693)
    sid    the sign-in session (refresh token family) of a user token; revoking it ends every token of it
For service tokens `sub` is "service:<name>".
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from services.kit.errors import Unauthenticated


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: str  # "user" or "service"
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] | None = None  # None: not narrowed
    actor: str | None = None  # the service acting on the user's behalf, if any
    token_id: str = ""
    expires_at: int = 0
    session_id: str = ""  # the sign-in session (refresh token family) the token belongs to, if any

    @property
    def user_id(self) -> str:
        """The user's id; for a service principal, the `service:<name>` subject."""
        return self.subject

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    @property
    def service_name(self) -> str | None:
        return self.subject.removeprefix("service:") if self.is_service else None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


_current: ContextVar[Principal | None] = ContextVar("principal", default=None)


def current_principal_or_none() -> Principal | None:
    return _current.get()


def current_principal() -> Principal:
    """The verified caller of the RPC being handled; raises Unauthenticated when there is none."""
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("authentication required")
    return principal


def set_principal(principal: Principal | None) -> object:
    """Used by the auth interceptor (and tests); returns a token for `reset_principal`."""
    return _current.set(principal)


def reset_principal(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
