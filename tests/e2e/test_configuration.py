"""The service registry and `.env.example` agree with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from services import registry
from services.edge.settings import ENVIRONMENT_VARIABLES as EDGE_VARIABLES
from services.kit.settings import CREDENTIALS_KEY_ENV, DATA_DIR_ENV, DEFAULT_PORTS, SUPERVISOR_PID_ENV, ServiceSettings
from services.launcher import (
    DEMO_CATALOG_ENV,
    Infrastructure,
    service_environment,
    start_batches,
)
from services.notify.mail_viewer import MAIL_VIEWER_PORT_ENV

REPO = Path(__file__).resolve().parents[2]
# Fields a service fills in from prefixed variables (<SERVICE>_PORT, <SERVICE>_DATABASE_URL) in load().
PER_SERVICE_FIELDS = {"port", "service_database_url"}


def env_example() -> tuple[dict[str, str], set[str]]:
    """(variables set on active lines with their values, variables only mentioned in `# NAME=` lines)."""
    active: dict[str, str] = {}
    commented: set[str] = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            active[match[1]] = match[2].strip("'")
        elif match := re.fullmatch(r"# ([A-Z][A-Z0-9_]*)=.*", line):
            commented.add(match[1])
    return active, commented


def settings_types() -> list[type[ServiceSettings]]:
    """The settings of every service that exists."""
    return [registry.definition(name).settings_type for name in registry.available()]


def expected_variables() -> set[str]:
    names: set[str] = set()
    for settings_type in settings_types():
        names |= {name.upper() for name in settings_type.model_fields if name not in PER_SERVICE_FIELDS}
    for service in registry.SERVICE_NAMES:
        names |= {f"{service.upper()}_PORT", f"{service.upper()}_DATABASE_URL"}
    launcher = {DEMO_CATALOG_ENV, SUPERVISOR_PID_ENV, MAIL_VIEWER_PORT_ENV}
    return names | {DATA_DIR_ENV, CREDENTIALS_KEY_ENV, *launcher, *EDGE_VARIABLES}


def test_env_example_lists_every_variable_and_nothing_else() -> None:
    active, commented = env_example()
    listed = set(active) | commented
    assert listed == expected_variables()
    assert not set(active) & commented


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    active, _ = env_example()
    defaults = {settings_type: settings_type().model_dump() for settings_type in settings_types()}
    for name, value in active.items():
        monkeypatch.setenv(name, value)
    for settings_type, default in defaults.items():
        loaded = settings_type.load()
        assert loaded.model_dump(exclude=PER_SERVICE_FIELDS) == {
            key: value for key, value in default.items() if key not in PER_SERVICE_FIELDS
        }, settings_type.__name__
    for service, port in DEFAULT_PORTS.items():
        assert active[f"{service.upper()}_PORT"] == str(port)


def test_registry_knows_the_services_in_start_order() -> None:
    assert tuple(DEFAULT_PORTS) == registry.SERVICE_NAMES
    assert registry.SERVICE_NAMES[0] == "auth"
    available = registry.available()
    assert available == [name for name in registry.SERVICE_NAMES if (REPO / "services" / name / "service.py").is_file()]
    assert not registry.exists("nonexistent")
    with pytest.raises(registry.UnknownService):
        registry.definition("nonexistent")


@pytest.mark.skipif(not registry.exists("auth"), reason="services/auth/service.py is not there yet")
def test_registry_loads_a_definition_lazily() -> None:
    probe = (
        "import sys, services.registry as r; "
        "print(any(m.startswith('services.auth') for m in sys.modules)); "
        "print(r.definition('auth').name)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "auth"]


def test_each_service_gets_only_its_own_credential() -> None:
    infra = Infrastructure(database_url="postgresql://db/postgres", redis_url="redis://cache/0")
    environ = {
        "AUTH_PORT": "6001",
        "CATALOG_PORT": "6002",
        "SERVICE_CREDENTIALS_KEY": "ignored",
        "SERVICE_CLIENT_SECRET": "stale",
    }
    auth = service_environment("auth", environ, infra, "k")
    cart = service_environment("cart", environ, infra, "k")
    order = service_environment("order", environ, infra, "k")
    assert auth["SERVICE_CREDENTIALS_KEY"] == "k"
    assert "SERVICE_CLIENT_SECRET" not in auth
    assert "SERVICE_CREDENTIALS_KEY" not in cart
    assert len(cart["SERVICE_CLIENT_SECRET"]) == 64
    assert cart["SERVICE_CLIENT_SECRET"] != order["SERVICE_CLIENT_SECRET"]
    assert cart["AUTH_TARGET"] == "127.0.0.1:6001"
    assert cart["CATALOG_TARGET"] == "127.0.0.1:6002"
    assert (cart["DATABASE_URL"], cart["REDIS_URL"]) == (infra.database_url, infra.redis_url)


def test_auth_starts_alone_then_the_rest_together() -> None:
    assert start_batches(["auth", "catalog", "cart"]) == [["auth"], ["catalog", "cart"]]
    assert start_batches(["catalog"]) == [["catalog"]]
