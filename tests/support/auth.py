"""The real auth service for tests: on a free port, against a fresh database and the real Redis.

Used by the auth tests and by every service whose tests need real tokens (a test package's conftest.py
re-exports the fixtures it needs).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.common.v1 import roles_pb2
from services.auth.service import DEFINITION
from services.auth.settings import AuthSettings
from services.kit.credentials import service_client_secret
from services.kit.server import RunningService
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

CREDENTIALS_KEY = "test-service-credentials-key"
PASSWORD = "correct horse battery"


@dataclass
class Auth:
    running: RunningService
    channel: grpc.aio.Channel
    stub: auth_pb2_grpc.AuthServiceStub
    settings: AuthSettings

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def register(
        self, *, role: roles_pb2.Role = roles_pb2.ROLE_BUYER, store_name: str = "", password: str = PASSWORD
    ) -> tuple[auth_pb2.RegisterResponse, str]:
        name = "u" + uuid.uuid4().hex[:12]
        response = await self.stub.Register(
            auth_pb2.RegisterRequest(
                email=f"{name}@example.com", username=name, password=password, role=role, store_name=store_name
            )
        )
        return response, name

    async def admin_token(self) -> str:
        response, name = await self.register()
        await self.sql("UPDATE users SET role = 'admin' WHERE id = :id", id=response.user.id)
        login = await self.stub.Login(auth_pb2.LoginRequest(login=name, password=PASSWORD))
        return str(login.tokens.access_token)

    async def user_token(self, *, role: roles_pb2.Role = roles_pb2.ROLE_BUYER, store_name: str = "") -> tuple[str, str]:
        """A new user's (access token, user id)."""
        response, _ = await self.register(
            role=role, store_name=store_name or ("Shop" if role == roles_pb2.ROLE_SELLER else "")
        )
        return str(response.tokens.access_token), str(response.user.id)

    async def admin(self) -> tuple[str, str]:
        """A new admin's (access token, user id)."""
        response, name = await self.register()
        await self.sql("UPDATE users SET role = 'admin' WHERE id = :id", id=response.user.id)
        login = await self.stub.Login(auth_pb2.LoginRequest(login=name, password=PASSWORD))
        return str(login.tokens.access_token), str(response.user.id)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def service_secret(client_id: str, key: str = CREDENTIALS_KEY) -> str:
    """The client secret the auth service expects from `client_id`: HMAC-SHA256(key, client_id) hex."""
    return service_client_secret(key, client_id)


async def service_token(auth: Auth, name: str) -> str:
    """A service token for the service `name` (e.g. "order"), through the real IssueServiceToken."""
    response = await auth.stub.IssueServiceToken(
        auth_pb2.IssueServiceTokenRequest(
            client_id=name, client_secret=service_secret(name, auth.settings.service_credentials_key)
        )
    )
    return str(response.access_token)


def auth_settings(database_url: str, redis_url: str, url: str, **overrides: Any) -> AuthSettings:
    values: dict[str, Any] = {
        "service_credentials_key": CREDENTIALS_KEY,
        # Cheap password hashing and short sign-in delays: the tests sign in hundreds of times.
        "auth_argon2_time_cost": 1,
        "auth_argon2_memory_cost_kib": 8 * 1024,
        "auth_login_delay_base_seconds": 0.01,
        "auth_login_delay_max_seconds": 0.05,
        "auth_login_max_failures": 3,
    }
    return settings_under_test(AuthSettings, database_url, redis_url, url, **(values | overrides))


StartAuth = Callable[..., Awaitable[Auth]]


@pytest.fixture
async def start_auth(infra: Any, fresh_database: Any) -> AsyncIterator[StartAuth]:
    """`auth = await start_auth(**setting_overrides)`: a migrated database and a running service."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Auth:
            url = overrides.pop("service_database_url", None) or await fresh_database("auth")
            await migrate_service(DEFINITION, url)
            settings = auth_settings(infra.database_url, infra.redis_url, url, **overrides)
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            return Auth(running, channel, auth_pb2_grpc.AuthServiceStub(channel), settings)

        yield start


@pytest.fixture
async def auth(start_auth: StartAuth) -> Auth:
    return await start_auth()
