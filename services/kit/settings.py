"""Typed settings from the environment. `.env.example` lists every variable with its default.

Common variables have no prefix (DATABASE_URL, REDIS_URL, ...); per-service ones are prefixed with the
service's name (AUTH_PORT, CATALOG_DATABASE_URL, ...). Service-specific settings subclass `ServiceSettings`.
"""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_PORTS: dict[str, int] = {
    "auth": 50051,
    "catalog": 50052,
    "cart": 50053,
    "order": 50054,
    "payment": 50055,
    "notify": 50056,
    "seller": 50057,
    "buddy": 50058,
}

# Set by the launcher to its pid: a service whose launcher is gone drains and exits (no orphans).
SUPERVISOR_PID_ENV = "MESH_SUPERVISOR_PID"


class CommonSettings(BaseSettings):
    """Variables every service reads, unprefixed."""

    model_config = SettingsConfigDict(extra="ignore")

    # A PostgreSQL server URL; each service uses its own database on it (marketplace_<service>).
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"
    grpc_host: str = "127.0.0.1"
    # Where services reach the auth service (JWKS, service tokens, token exchange).
    auth_target: str = "127.0.0.1:50051"
    jwt_issuer: str = "marketplace-mesh-auth"
    jwt_audience: str = "marketplace-mesh"
    # This service's client secret for IssueServiceToken (client id = the service's name).
    service_client_secret: str = ""
    otel_exporter_otlp_endpoint: str = ""
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # Seconds a draining server keeps serving after it turned NOT_SERVING, before it refuses new calls: time
    # for load balancers and Envoy's health checks to notice and send elsewhere (0 on one machine; a few
    # seconds behind a balancer that polls).
    drain_notice_seconds: float = 0.0
    # Seconds a draining server then waits for RPCs in flight.
    drain_grace_seconds: float = 5.0


class ServiceSettings(CommonSettings):
    """Settings of one service. Subclasses set `service` and add their own (prefixed) fields."""

    service: ClassVar[str] = ""

    port: int = 0
    # Empty: derived from DATABASE_URL with the database name marketplace_<service>.
    service_database_url: str = Field(default="")

    @classmethod
    def load(cls) -> ServiceSettings:
        """Reads the environment: `<SERVICE>_PORT` and `<SERVICE>_DATABASE_URL` override the defaults."""
        prefix = cls.service.upper()
        settings = cls()
        port = os.environ.get(f"{prefix}_PORT")
        settings.port = int(port) if port else DEFAULT_PORTS.get(cls.service, 0)
        settings.service_database_url = os.environ.get(f"{prefix}_DATABASE_URL", "") or database_url_for(
            settings.database_url, cls.service
        )
        return settings

    @property
    def address(self) -> str:
        return f"{self.grpc_host}:{self.port}"


def database_name(service: str) -> str:
    return f"marketplace_{service}"


def database_url_for(server_url: str, service: str) -> str:
    """The URL of the service's own database on the server that `server_url` points at."""
    url = make_url(server_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.set(database=database_name(service)).render_as_string(hide_password=False)
