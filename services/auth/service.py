"""The auth service's definition: what the kit's server runs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth.api import AuthApi
from services.auth.handlers import signing_keys
from services.auth.handlers.deps import Deps, SigningKeyHolder, retired_key_lifetime
from services.auth.handlers.sessions import restore_revocations
from services.auth.passwords import Passwords
from services.auth.settings import AuthSettings
from services.kit.loops import wait_for_stop
from services.kit.server import Runtime, ServiceDefinition
from services.kit.tokens import RevocationList, TokenVerifier

log = logging.getLogger(__name__)

# Other auth processes may rotate the key; each reloads the ring this often.
KEY_RELOAD_SECONDS = 30.0


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, AuthSettings):
        raise TypeError("the auth service needs AuthSettings")
    if runtime.engine is None or runtime.sessions is None or runtime.redis is None:
        raise RuntimeError("the auth service needs its database and Redis")
    revocations = RevocationList(runtime.redis)
    passwords = await asyncio.to_thread(
        Passwords,
        time_cost=settings.auth_argon2_time_cost,
        memory_cost_kib=settings.auth_argon2_memory_cost_kib,
        parallelism=settings.auth_argon2_parallelism,
    )

    async def own_jwks() -> dict[str, object]:
        return await signing_keys.jwks_for_verifier(deps)

    # Auth verifies tokens with its own key store: it never calls itself over the network.
    # Its key source is in memory, so an unknown kid may be looked up at once (right after a rotation).
    verifier = TokenVerifier(
        own_jwks,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        revocations=revocations,
        refetch_interval_seconds=0.0,
    )
    deps = Deps(
        settings=settings,
        sessions=runtime.sessions,
        redis=runtime.redis,
        passwords=passwords,
        keys=SigningKeyHolder(retired_key_lifetime(settings)),
        verifier=verifier,
        revocations=revocations,
    )
    runtime.verifier = verifier
    await signing_keys.load_signing_keys(deps)
    # Before serving: a Redis that lost its data must refuse the revoked tokens again from the first call.
    await restore_revocations(deps)

    async def reload_keys(stop: asyncio.Event) -> None:
        while not await wait_for_stop(stop, KEY_RELOAD_SECONDS):
            await signing_keys.reload_signing_keys(deps)

    async def keep_revocations(stop: asyncio.Event) -> None:
        # A Redis that loses its data while auth runs would let revoked tokens through until the next start.
        while not await wait_for_stop(stop, settings.auth_revocation_check_seconds):
            try:
                if not await deps.revocations.restored():
                    log.warning("Redis lost the revocations; restoring them")
                    await restore_revocations(deps)
            except Exception:
                log.exception("could not check or restore the revocations in Redis; trying again")

    runtime.add_task("signing-keys", reload_keys)
    runtime.add_task("revocations", keep_revocations)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthApi(deps), runtime.server)


DEFINITION = ServiceDefinition(
    name="auth",
    settings_type=AuthSettings,
    grpc_services=[auth_pb2.DESCRIPTOR.services_by_name["AuthService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
)
