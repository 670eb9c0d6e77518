"""A configured signing key is used; the migrations build exactly the tables the code declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection

from marketplace.auth.v1 import auth_pb2
from services.auth import keys
from services.auth.keys import KeyRing, SigningKey, generate_private_pem, key_id
from services.auth.store import metadata
from services.kit.db import create_engine
from tests.auth.conftest import StartAuth


async def test_configured_signing_key_signs_tokens(start_auth: StartAuth) -> None:
    pem = generate_private_pem()
    auth = await start_auth(auth_signing_key_pem=pem)
    registered, _ = await auth.register()
    assert jwt.get_unverified_header(registered.tokens.access_token)["kid"] == key_id(pem)
    jwks = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
    assert [key.kid for key in jwks.keys] == [key_id(pem)]


async def test_migrations_match_the_declared_tables(start_auth: StartAuth) -> None:
    auth = await start_auth()
    engine = create_engine(auth.settings.service_database_url)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


def test_the_key_ring_loads_each_stored_key_once_per_process(monkeypatch) -> None:
    # Found by the fuzz suite: each reload (every rotation) loaded every key ever stored, ~30 ms each on the
    # event loop, until after a few dozen rotations auth's health checks timed out and it turned NOT_SERVING.
    pems = [generate_private_pem() for _ in range(3)]
    now = datetime.now(UTC)
    stored = [SigningKey.from_pem(pem, now) for pem in pems]
    loads: list[bytes] = []
    real_load = serialization.load_pem_private_key

    def counted_load(data: bytes, password: bytes | None) -> Any:
        loads.append(data)
        return real_load(data, password)

    monkeypatch.setattr(serialization, "load_pem_private_key", counted_load)
    getattr(keys._load_private, "cache_clear", lambda: None)()  # earlier tests loaded keys too
    for _ in range(5):
        KeyRing(stored, retired_lifetime=timedelta(minutes=20))
    assert sorted(loads) == sorted(pem.encode() for pem in pems)
