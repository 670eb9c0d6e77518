"""Access-token verification: RS256 JWTs issued by the auth service, checked against its JWKS.

Only RS256 is accepted: `alg=none` and HMAC tokens (including the classic trick of signing HS256 with the
public key as the secret) are refused before any key is used. The JWKS is cached; a token naming an unknown
`kid` makes the verifier fetch it again, at most once every `refetch_interval_seconds`, so key rotation
works without letting forged kids hammer the auth service.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import jwt
from redis.asyncio import Redis

from services.kit.errors import Unauthenticated
from services.kit.principal import Principal

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
REVOKED_KEY_PREFIX = "auth:revoked:"
REVOKED_SESSION_KEY_PREFIX = "auth:revoked-session:"
# Set by every restore and never expiring: its absence means Redis lost what auth gave it.
RESTORED_MARKER_KEY = "auth:revocations-restored"
# Keys written per round trip when revocations are restored.
RESTORE_BATCH = 1000
# Verified tokens remembered per process (least recently used dropped first): the active sessions of a busy
# service, a few MB at most.
VERIFIED_TOKENS_KEPT = 10_000

Jwks = Mapping[str, Any]  # {"keys": [{"kty", "kid", "use", "alg", "n", "e"}, ...]}


class RevocationList:
    """Revoked tokens in Redis, kept until the tokens would have expired anyway.

    `auth:revoked:<jti>` revokes one access token; `auth:revoked-session:<sid>` revokes every access token of a
    sign-in session (logout, password change, refresh token reuse), including delegated tokens made from them.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, jti: str, expires_at: int) -> None:
        ttl = int(expires_at - time.time()) + 1
        if ttl > 0:
            await self._redis.set(f"{REVOKED_KEY_PREFIX}{jti}", b"1", ex=ttl)

    async def revoke_sessions(self, session_ids: Iterable[str], ttl_seconds: int) -> None:
        """Revokes the access tokens of these sessions; `ttl_seconds` ≥ the longest access token lifetime."""
        keys = [f"{REVOKED_SESSION_KEY_PREFIX}{sid}" for sid in session_ids if sid]
        if keys:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, b"1", ex=max(1, ttl_seconds))
                await pipe.execute()

    async def restore(
        self, *, sessions: Iterable[tuple[str, int]] = (), tokens: Iterable[tuple[str, int]] = ()
    ) -> None:
        """Writes revocations again, each `(session id or token id, seconds it still matters)`: what auth
        restores from its database after Redis lost its data; then marks Redis as holding them (`restored`)."""
        entries = [(f"{REVOKED_SESSION_KEY_PREFIX}{sid}", ttl) for sid, ttl in sessions if sid and ttl > 0]
        entries += [(f"{REVOKED_KEY_PREFIX}{jti}", ttl) for jti, ttl in tokens if jti and ttl > 0]
        for start in range(0, len(entries), RESTORE_BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, ttl in entries[start : start + RESTORE_BATCH]:
                    pipe.set(key, b"1", ex=ttl)
                await pipe.execute()
        await self._redis.set(RESTORED_MARKER_KEY, b"1")

    async def restored(self) -> bool:
        """Whether Redis still holds what the last `restore` wrote: a Redis restarted without its data, flushed or
        failed over to an empty replica has lost the marker with the revocations."""
        return bool(await self._redis.exists(RESTORED_MARKER_KEY))

    async def is_revoked(self, jti: str, session_id: str = "") -> bool:
        keys = [f"{REVOKED_KEY_PREFIX}{jti}"]
        if session_id:
            keys.append(f"{REVOKED_SESSION_KEY_PREFIX}{session_id}")
        return bool(await self._redis.exists(*keys))


class TokenVerifier:
    """Turns a bearer token into a `Principal`, or raises `Unauthenticated`."""

    def __init__(
        self,
        jwks: Callable[[], Awaitable[Jwks]],
        *,
        issuer: str,
        audience: str,
        revocations: RevocationList | None = None,
        leeway_seconds: int = 5,
        refetch_interval_seconds: float = 5.0,
    ) -> None:
        self._fetch_jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._revocations = revocations
        self._leeway = leeway_seconds
        self._refetch_interval = refetch_interval_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        # Tokens whose signature and claims were checked, with the key that signed them: a token comes back on
        # every call of its session (a service's on every internal call), and an RS256 check costs more than
        # the rest of the interceptor. Expiry and revocation are still checked on every call.
        self._verified: OrderedDict[str, tuple[Principal, str]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        principal = self._recently_verified(token) or await self._verify_signed(token)
        revocations = self._revocations
        if (
            principal.token_id
            and revocations is not None
            and await revocations.is_revoked(principal.token_id, principal.session_id)
        ):
            raise Unauthenticated("token revoked")
        return principal

    def _recently_verified(self, token: str) -> Principal | None:
        found = self._verified.get(token)
        if found is None:
            return None
        principal, kid = found
        if kid not in self._keys or time.time() > principal.expires_at + self._leeway:
            # Its key is gone from the key set, or it expired: the full check decides (and says why).
            del self._verified[token]
            return None
        self._verified.move_to_end(token)
        return principal

    async def _verify_signed(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("unsupported token algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        principal = principal_from_claims(claims)
        if principal.expires_at:
            self._verified[token] = (principal, kid)
            if len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)
        return principal

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and self._may_refetch():
                await self._refresh()
        if kid not in self._keys:
            raise Unauthenticated("unknown signing key")
        return self._keys[kid]

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= self._refetch_interval

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            jwks = await self._fetch_jwks()
        except Exception:
            log.warning("could not fetch the signing keys", exc_info=True)
            return
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            if entry.get("kty") != "RSA" or not entry.get("kid"):
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
            except jwt.PyJWTError:
                log.warning("ignoring an unusable signing key", extra={"fields": {"kid": entry.get("kid")}})
        self._keys = keys
        self._verified.clear()


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    kind = claims.get("typ", "user")
    if kind not in ("user", "service"):
        raise Unauthenticated("invalid token type")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated("invalid roles claim")
    scope = claims.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise Unauthenticated("invalid scope claim")
    act = claims.get("act")
    actor = act.get("sub") if isinstance(act, dict) else None
    return Principal(
        subject=str(claims["sub"]),
        kind=kind,
        roles=frozenset(roles),
        scopes=frozenset(scope.split()) if scope is not None else None,
        actor=str(actor) if actor else None,
        token_id=str(claims.get("jti", "")),
        expires_at=int(claims["exp"]),
        session_id=str(claims.get("sid", "")),
    )
