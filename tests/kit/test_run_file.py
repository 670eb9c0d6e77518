"""The run file: written owner-only and atomically by the launcher, read by commands under their environment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.kit.cli import command_settings
from services.kit.credentials import service_client_secret
from services.kit.settings import (
    RUN_FILE_NAME,
    ServiceSettings,
    read_run_file,
    remove_run_file,
    run_environment,
    write_run_file,
)


class ToolSettings(ServiceSettings):
    service = "catalog"


def test_the_run_file_is_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / RUN_FILE_NAME
    write_run_file(path, {"REDIS_URL": "unix:///old.sock"})
    write_run_file(path, {"REDIS_URL": "unix:///new.sock", "SERVICE_CREDENTIALS_KEY": "k"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_run_file(path) == {"REDIS_URL": "unix:///new.sock", "SERVICE_CREDENTIALS_KEY": "k"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_FILE_NAME]  # no temporary file left behind
    remove_run_file(path)
    remove_run_file(path)  # already gone: fine
    assert read_run_file(path) == {}


def test_a_garbled_run_file_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / RUN_FILE_NAME
    path.write_text("{not json")
    assert read_run_file(path) == {}


def test_the_environment_wins_over_the_run_file(tmp_path: Path) -> None:
    write_run_file(tmp_path / RUN_FILE_NAME, {"REDIS_URL": "unix:///run.sock", "AUTH_TARGET": "127.0.0.1:1"})
    environment = run_environment({"MESH_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://exported:6379/0"})
    assert environment["REDIS_URL"] == "redis://exported:6379/0"
    assert environment["AUTH_TARGET"] == "127.0.0.1:1"


def test_a_command_derives_its_secret_from_the_runs_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A copy of the environment: the command adds the run file's values to it, and they must not outlive the test.
    unset = ("SERVICE_CLIENT_SECRET", "SERVICE_CREDENTIALS_KEY", "AUTH_TARGET", "CATALOG_PORT")
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    monkeypatch.setattr(os, "environ", {**environment, "MESH_DATA_DIR": str(tmp_path)})
    write_run_file(
        tmp_path / RUN_FILE_NAME,
        {"SERVICE_CREDENTIALS_KEY": "run-key", "AUTH_TARGET": "127.0.0.1:4711", "CATALOG_PORT": "4712"},
    )
    settings = command_settings(ToolSettings)
    assert settings.service_client_secret == service_client_secret("run-key", "catalog")
    assert (settings.auth_target, settings.port) == ("127.0.0.1:4711", 4712)
    os.environ["SERVICE_CLIENT_SECRET"] = "exported"
    assert command_settings(ToolSettings).service_client_secret == "exported"
    assert os.environ["SERVICE_CREDENTIALS_KEY"] == "run-key"
