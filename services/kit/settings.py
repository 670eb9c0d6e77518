"""Typed settings from the environment. `.env.example` lists every variable with its default.

Common variables have no prefix (DATABASE_URL, REDIS_URL, ...); per-service ones are prefixed with the
service's name (AUTH_PORT, CATALOG_DATABASE_URL, ...). Service-specific settings subclass `ServiceSettings`.

The run file: while `python -m services up` runs, it keeps the run's connection settings and the service
credentials key in `<data dir>/run.json` (owner-only). Operator commands (CLIs) read it under their own
environment (`use_run_environment`), so they work in a second terminal with nothing exported; services never
read it (the launcher gives them their environment).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
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
# Where the launcher keeps the embedded servers' data and the run file (default: var/ in the repository).
DATA_DIR_ENV = "MESH_DATA_DIR"
# The deployment's key every service's client secret derives from (services.kit.credentials).
CREDENTIALS_KEY_ENV = "SERVICE_CREDENTIALS_KEY"
REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_FILE_NAME = "run.json"
# Eight services and the notify worker at 8 connections each, plus each relay's listening connection, stay
# below PostgreSQL's default of 100 connections on one server.
DEFAULT_POOL_SIZE = 8


class CommonSettings(BaseSettings):
    """Variables every service reads, unprefixed."""

    model_config = SettingsConfigDict(extra="ignore")

    # A PostgreSQL server URL; each service uses its own database on it (marketplace_<service>).
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    # Connections each process keeps to its database at most, and how many more it may open for a moment (each
    # closed again once returned: at load that opens connections all the time; services/kit/db.py).
    database_pool_size: int = DEFAULT_POOL_SIZE
    database_max_overflow: int = 0
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


# --- the run file -------------------------------------------------------------------------------------------


def default_data_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(DATA_DIR_ENV) or REPO_ROOT / "var")


def run_file_path(environ: Mapping[str, str]) -> Path:
    return default_data_dir(environ) / RUN_FILE_NAME


def write_run_file(path: Path, values: Mapping[str, str]) -> None:
    """Writes the run's settings readable by this user only (they hold the service credentials key), atomically:
    a reader sees the previous file or the whole new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(dict(values), file, indent=2, sort_keys=True)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def remove_run_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_run_file(path: Path) -> dict[str, str]:
    """The settings of the run that wrote `path`; empty when there is none, or when the file is not this user's
    own (someone else's file could point a command at their servers)."""
    try:
        with path.open(encoding="utf-8") as file:
            if os.fstat(file.fileno()).st_uid != os.getuid():
                return {}
            values = json.load(file)
    except (OSError, ValueError):
        return {}
    if not isinstance(values, dict):
        return {}
    return {str(key): str(value) for key, value in values.items()}


def run_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment an operator command runs with: the running stack's run file, under `environ` (default:
    the process's), so anything exported still wins."""
    environ = os.environ if environ is None else environ
    return {**read_run_file(run_file_path(environ)), **environ}


def use_run_environment() -> Path | None:
    """For a command's entry point (never at import): adds the run file's settings the process environment does
    not set, so every settings object loaded afterwards sees them. Returns the file used, if any."""
    path = run_file_path(os.environ)
    values = read_run_file(path)
    for key, value in values.items():
        os.environ.setdefault(key, value)
    return path if values else None
