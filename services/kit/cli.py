"""Operator commands (`python -m services.<svc> <command>`): their settings, and one line when they fail.

`command_settings(SettingsType)` loads a service's settings for a command run by hand: the process environment
over the running stack's run file (`services.kit.settings.use_run_environment`), and the service's client
secret derived from SERVICE_CREDENTIALS_KEY when only the key is known (the run file holds the key, never a
secret). With `make run` running, a command in another terminal thus needs nothing exported.

A command that cannot reach what it needs raises `CommandFailed` with one line saying what and why
(`rpc_failure`, `database_failure` turn the usual errors into that line); its entry point prints the line and
exits non-zero, never with a traceback.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from services.kit.credentials import service_client_secret
from services.kit.settings import CREDENTIALS_KEY_ENV, ServiceSettings, run_file_path, use_run_environment

SettingsType = TypeVar("SettingsType", bound=ServiceSettings)

START_HINT = "is `make run` running?"
MIGRATE_HINT = "start the stack with `make run`, or prepare the databases with `make migrate`"
# PostgreSQL SQLSTATEs a command explains in words.
INVALID_CATALOG_NAME = "3D000"
UNDEFINED_TABLE = "42P01"
LOGIN_REFUSED = ("28000", "28P01")


class CommandFailed(Exception):
    """What an operator command could not do, in one line for the terminal."""


def command_settings(settings_type: type[SettingsType]) -> SettingsType:
    """The service's settings for a command run by hand (see the module's docstring)."""
    use_run_environment()
    settings = settings_type.load()
    if not isinstance(settings, settings_type):
        raise TypeError(f"{settings_type.__name__}.load() returned {type(settings).__name__}")
    key = os.environ.get(CREDENTIALS_KEY_ENV, "")
    if not settings.service_client_secret and key:
        settings.service_client_secret = service_client_secret(key, settings_type.service)
    return settings


def require_client_secret(settings: ServiceSettings) -> None:
    """CommandFailed when the command has no way to obtain its service token."""
    if settings.service_client_secret:
        return
    raise CommandFailed(
        f"no running stack found ({run_file_path(os.environ)} does not exist) and neither SERVICE_CLIENT_SECRET "
        f"nor {CREDENTIALS_KEY_ENV} is set, so the {settings.service} has no service credentials: {START_HINT}"
    )


def _status_explanation(error: grpc.aio.AioRpcError) -> str:
    """The call's details, with the field violations or reason the server attached (google.rpc details)."""
    text = error.details() or error.code().name
    trailers: Any = error.trailing_metadata() or ()  # grpc's stubs type the pairs loosely
    for key, value in trailers:
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                violations = "; ".join(f"{v.field}: {v.description}" for v in bad_request.field_violations)
                text = f"{text} ({violations})" if violations else text
    return text


def rpc_failure(error: grpc.aio.AioRpcError, *, service: str, target: str, refused: str) -> CommandFailed:
    """One line for a failed call to `service` at `target`. `refused` says what the service refused, e.g.
    "the catalog's service credentials" (used unless the service could not be reached at all)."""
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        reason = (error.details() or error.code().name).rsplit(": ", 1)[-1]
        return CommandFailed(f"cannot reach {service} at {target} ({reason}): {START_HINT}")
    return CommandFailed(f"{service} refused {refused}: {error.code().name} {_status_explanation(error)}")


def _where(url: str) -> tuple[str, str]:
    """(the server, the database) of a database URL, without the password."""
    parsed = make_url(url)
    host = parsed.host or str(parsed.query.get("host", "")) or "localhost"
    server = host if host.startswith("/") else f"{host}:{parsed.port or 5432}"
    return server, parsed.database or ""


def database_failure(error: BaseException, url: str) -> CommandFailed | None:
    """One line for a database the command could not use, or None when `error` is something else."""
    server, database = _where(url)
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return CommandFailed(f"cannot reach the database server at {server} ({reason}): {START_HINT}")
    if isinstance(error, TimeoutError):
        return CommandFailed(f"cannot reach the database server at {server} (timed out): {START_HINT}")
    if not isinstance(error, DBAPIError):
        return None
    sqlstate = str(getattr(error.orig, "sqlstate", "") or getattr(error.orig, "pgcode", "") or "")
    if sqlstate == INVALID_CATALOG_NAME:
        return CommandFailed(f"database {database} does not exist on {server}: {MIGRATE_HINT}")
    if sqlstate == UNDEFINED_TABLE:
        return CommandFailed(f"database {database} on {server} has no tables yet: {MIGRATE_HINT}")
    if sqlstate in LOGIN_REFUSED:
        return CommandFailed(f"the database server at {server} refused the login to {database}: check DATABASE_URL")
    first_line = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error).__name__
    return CommandFailed(f"database {database} on {server} failed: {first_line}")
