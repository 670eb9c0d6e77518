"""Signing keys: loading, reloading and rotating them, and the published JWKS."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from services.auth.handlers.deps import Deps
from services.auth.keys import SigningKey, generate_private_pem, key_id
from services.auth.store import SigningKeys

KEY_RELOAD_MIN_SECONDS = 1.0

log = logging.getLogger(__name__)


async def load_signing_keys(deps: Deps) -> None:
    """At start: use AUTH_SIGNING_KEY_PEM when set, else the stored keys, else a new generated key."""
    now = deps.clock()
    configured = deps.settings.auth_signing_key_pem.strip()
    async with deps.sessions() as session, session.begin():
        store = SigningKeys(session)
        await store.lock()
        keys = await store.all()
        if configured:
            kid = key_id(configured)
            if all(key.kid != kid for key in keys):
                await store.add(SigningKey(kid=kid, private_pem=configured, created_at=now))
                await store.retire_all_except(kid, now)
        elif not any(key.retired_at is None for key in keys):
            await store.add(SigningKey.from_pem(generate_private_pem(), now))
        await _prune(deps, store, now)
        keys = await store.all()
    deps.keys.load(keys)


async def reload_signing_keys(deps: Deps) -> None:
    async with deps.sessions() as session:
        keys = await SigningKeys(session).all()
    deps.keys.load(keys)


async def rotate_signing_key(deps: Deps) -> tuple[str, datetime]:
    """A new signing key, published at once; (its kid, when it starts signing). Until then the key it replaces
    signs (`AUTH_KEY_ROTATION_LEAD_SECONDS`), so every verifier can fetch the new key first; the old one stays in
    the JWKS until the tokens it signed have expired."""
    now = deps.clock()
    key = SigningKey.from_pem(await asyncio.to_thread(generate_private_pem), now)
    signs_from = now + timedelta(seconds=deps.settings.auth_key_rotation_lead_seconds)
    async with deps.sessions() as session, session.begin():
        store = SigningKeys(session)
        await store.lock()
        await store.add(key)
        # Keys that are retiring already (an earlier rotation's) keep their moment.
        await store.retire_all_except(key.kid, signs_from)
        await _prune(deps, store, now)
        keys = await store.all()
    await reload_signing_keys(deps)
    return key.kid, max(signs_from, *(k.retired_at for k in keys if k.retired_at is not None and k.kid != key.kid))


async def _prune(deps: Deps, store: SigningKeys, now: datetime) -> None:
    """Deletes the private keys that can no longer matter: retired longer ago than any token they signed lives
    (those have left the JWKS already). Without this every key ever made stays, and is loaded at every reload."""
    pruned = await store.delete_retired_before(now - deps.keys.retired_lifetime)
    if pruned:
        log.info("retired signing keys deleted", extra={"fields": {"kids": pruned}})


def jwks(deps: Deps) -> list[dict[str, str]]:
    return deps.keys.ring.jwks(deps.clock())["keys"]


async def jwks_for_verifier(deps: Deps) -> dict[str, Any]:
    """The verifier's key source inside auth: the key ring, never a network call to itself. The ring is read
    from the database again at most once a second, to learn of a rotation by another auth process."""
    if deps.keys.stale(time.monotonic(), KEY_RELOAD_MIN_SECONDS):
        await reload_signing_keys(deps)
    return {"keys": jwks(deps)}
