"""The services of the mesh, in start order.

A service exists once its package has a `service.py` exposing `DEFINITION` (a `ServiceDefinition`); nothing else
registers it. Importing this module does no I/O and imports no service.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.kit.server import ServiceDefinition

# Start order: auth first (every other service verifies tokens with its keys), then the rest.
SERVICE_NAMES: tuple[str, ...] = ("auth", "catalog", "cart", "order", "payment", "notify", "seller", "buddy")

_PACKAGE_DIR = Path(__file__).resolve().parent


class UnknownService(KeyError):
    """A name that is not one of SERVICE_NAMES, or a service whose package is not there yet."""


def exists(name: str) -> bool:
    """True when `services/<name>/service.py` is there."""
    return name in SERVICE_NAMES and (_PACKAGE_DIR / name / "service.py").is_file()


def available() -> list[str]:
    """The services that exist, in start order."""
    return [name for name in SERVICE_NAMES if exists(name)]


def definition(name: str) -> ServiceDefinition:
    """Imports `services.<name>.service` and returns its `DEFINITION`."""
    if not exists(name):
        raise UnknownService(name)
    from services.kit.server import ServiceDefinition

    module = importlib.import_module(f"services.{name}.service")
    found = getattr(module, "DEFINITION", None)
    if not isinstance(found, ServiceDefinition):
        raise TypeError(f"services.{name}.service.DEFINITION must be a ServiceDefinition, got {type(found).__name__}")
    return found
