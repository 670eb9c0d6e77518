"""Service access: service tokens (client credentials) and delegated tokens (token exchange)."""

from __future__ import annotations

from collections.abc import Sequence

from services.auth import domain
from services.auth.handlers.deps import Deps
from services.auth.handlers.sessions import sign_token
from services.auth.store import Users
from services.kit.credentials import client_secret_matches
from services.kit.errors import PermissionDenied, Unauthenticated
from services.kit.principal import Principal

MAX_EXCHANGE_TTL_SECONDS = 300


async def issue_service_token(deps: Deps, *, client_id: str, client_secret: str) -> tuple[str, int]:
    settings = deps.settings
    known = client_id in settings.auth_service_clients
    matches = client_secret_matches(settings.service_credentials_key, client_id, client_secret)
    if not (known and matches):
        raise Unauthenticated("invalid client credentials", reason="INVALID_CLIENT")
    ttl = settings.auth_service_token_ttl_seconds
    token = sign_token(
        deps,
        subject=f"service:{client_id}",
        typ=domain.SERVICE_TOKEN,
        roles=[domain.SERVICE_ROLE],
        now=deps.clock(),
        ttl_seconds=ttl,
    )
    return token, ttl


async def exchange_token(
    deps: Deps, principal: Principal, *, subject_token: str, scopes: Sequence[str]
) -> tuple[str, int, list[str]]:
    service = principal.service_name
    if service is None or principal.actor is not None:
        raise PermissionDenied("only services may exchange tokens", reason="SERVICE_TOKEN_REQUIRED")
    granted = domain.grant_scopes(scopes, deps.settings.auth_exchange_scopes.get(service, []))
    subject = await deps.verifier.verify(subject_token)
    if subject.kind != domain.USER_TOKEN or subject.actor is not None or subject.scopes is not None:
        raise Unauthenticated("the subject token must be a user's own access token", reason="INVALID_SUBJECT_TOKEN")
    async with deps.sessions() as session:
        user = await Users(session).get(subject.subject)
    if user is None:
        raise Unauthenticated("the subject token's user does not exist", reason="INVALID_SUBJECT_TOKEN")
    ttl = min(deps.settings.auth_exchange_token_ttl_seconds, MAX_EXCHANGE_TTL_SECONDS)
    token = sign_token(
        deps,
        subject=user.id,
        typ=domain.USER_TOKEN,
        roles=user.roles,
        now=deps.clock(),
        ttl_seconds=ttl,
        scopes=granted,
        actor=service,
        # Ending the user's session also ends what was delegated from it.
        session_id=subject.session_id,
    )
    return token, ttl, granted
