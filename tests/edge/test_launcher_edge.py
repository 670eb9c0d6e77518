"""`python -m services up` puts Envoy in front of the services: REST on the edge port, and Envoy stops with the
stack (first) and never outlives it."""

from __future__ import annotations

import re
import signal

import httpx
import pytest

from services import registry
from tests.e2e.test_launcher import alive, assert_nothing_left, launch

__all__ = ["launch"]

pytestmark = [
    pytest.mark.skipif(not registry.exists("catalog"), reason="the catalog is not there"),
    pytest.mark.timeout(240),
]


def test_up_serves_rest_through_envoy(launch) -> None:
    launched = launch()
    text = launched.wait_for(r"^  edge +http://127\.0\.0\.1:\d+ +\(Envoy, pid \d+\)")
    match = re.search(r"^  edge +(http://127\.0\.0\.1:\d+) +\(Envoy, pid (\d+)\)", text, re.MULTILINE)
    assert match is not None
    url, envoy_pid = match.group(1), int(match.group(2))
    # The services' own lines are unchanged: the edge is not listed as a gRPC service.
    assert set(launched.addresses()) == set(registry.available())

    categories = httpx.get(f"{url}/v1/categories", timeout=10)
    assert categories.status_code == 200, categories.text
    assert "categories" in categories.json()
    assert httpx.get(f"{url}/v1/cart", timeout=10).status_code == 401
    assert httpx.get(f"{url}/openapi.yaml", timeout=10).text.startswith("# Generated")

    pids = launched.pids()
    assert launched.stop(signal.SIGINT) == 0
    assert not alive(envoy_pid)
    output = launched.output()
    # Envoy is stopped before the services drain.
    assert output.index("caught ENVOY_SIGTERM") < output.index("stopping services…")
    assert_nothing_left(launched, pids)
