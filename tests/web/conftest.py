"""The storefront against a real stack: auth, catalog, cart, order and payment on free ports against fresh
databases (the checkout's fixture), real Envoy in front with the generated config serving the built storefront
at `/`, and Debian's Chromium driven headless by Playwright. For the account pages, a smaller stack: auth and
notify (its worker, the mail sink and the sink's web mailbox) behind Envoy."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.edge.runner import Edge, start_edge, stop_edge
from services.edge.settings import (
    DEFAULT_RATE_LIMITS,
    EDGE_DESCRIPTORS,
    OPENAPI_PATH,
    WEB_DIST,
    EdgeSettings,
    RateLimit,
    Upstream,
    built_web_files,
)
from services.kit.settings import REPO_ROOT
from services.notify.mail_viewer import MailViewer, start_mail_viewer
from tests.checkout.conftest import (
    Checkout,
    checkout,
    start_auth,
    start_cart,
    start_catalog,
    start_checkout,
    start_order,
)
from tests.edge.conftest import free_port
from tests.notify.conftest import Notify, StartNotify, mail_server, start_notify
from tests.support.auth import Auth, StartAuth

__all__ = [
    "checkout",
    "mail_server",
    "start_auth",
    "start_cart",
    "start_catalog",
    "start_checkout",
    "start_notify",
    "start_order",
]

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots of each step, for a person to look at (git-ignored).
SCREENSHOTS = REPO_ROOT / "var" / "screenshots" / "storefront"


def chromium() -> Path | None:
    """Debian's Chromium; installed with apt-get when it is missing and this process may (CI runs as root)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=600, check=False)
    return CHROMIUM if CHROMIUM.exists() else None


@dataclass
class Storefront:
    checkout: Checkout
    edge: Edge
    browser_path: Path

    @property
    def url(self) -> str:
        return self.edge.url


def _upstream(address: str) -> Upstream:
    host, port = address.rsplit(":", 1)
    return Upstream(host, int(port))


def _browser() -> Path:
    browser_path = chromium()
    if browser_path is None:
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (apt-get install chromium)")
    if "index.html" not in built_web_files():
        pytest.fail(f"the storefront is not built: {WEB_DIST} has no index.html (cd edge/web && npm run build)")
    return browser_path


@pytest.fixture
async def storefront(checkout: Checkout) -> AsyncIterator[Storefront]:
    browser_path = _browser()
    cart = checkout.order.cart
    settings = EdgeSettings(
        upstreams={
            "auth": _upstream(cart.catalog.auth.running.address),
            "catalog": _upstream(cart.catalog.running.address),
            "cart": _upstream(cart.running.address),
            "order": _upstream(checkout.order.running.address),
            "payment": _upstream(checkout.payment_running.address),
        },
        listen_port=free_port(),
        admin_port=free_port(),
        # Same origin: the page and its calls share the edge's port, so no CORS origin is needed.
        web_origins=(),
        descriptor_path=str(EDGE_DESCRIPTORS),
        openapi_path=str(OPENAPI_PATH),
        web_root=str(WEB_DIST),
        web_files=built_web_files(),
        jwks_cache_seconds=5,
    )
    work = Path(tempfile.mkdtemp(prefix="mesh-web-"))
    edge = await start_edge(settings, work, log_path=work / "envoy.log", concurrency=1)
    try:
        yield Storefront(checkout, edge, browser_path)
    finally:
        await stop_edge(edge)
        shutil.rmtree(work, ignore_errors=True)


# A small reset budget, so that the browser test meets the edge's limit after a few requests.
RESET_REQUESTS_PER_MINUTE = 2


@dataclass
class MailStorefront:
    auth: Auth
    notify: Notify
    edge: Edge
    viewer: MailViewer
    browser_path: Path

    @property
    def url(self) -> str:
        return self.edge.url


@pytest.fixture
async def mail_storefront(start_auth: StartAuth, start_notify: StartNotify) -> AsyncIterator[MailStorefront]:
    """Auth, notify with its worker and mail sink, the sink's web mailbox, and Envoy serving the storefront; the
    reset emails link to this edge's reset page."""
    browser_path = _browser()
    auth = await start_auth()
    listen_port = free_port()
    notify = await start_notify(
        auth.running.address, notify_password_reset_url=f"http://127.0.0.1:{listen_port}/#/reset-password?token="
    )
    settings = EdgeSettings(
        upstreams={"auth": _upstream(auth.running.address), "notify": _upstream(notify.running.address)},
        listen_port=listen_port,
        admin_port=free_port(),
        web_origins=(),
        descriptor_path=str(EDGE_DESCRIPTORS),
        openapi_path=str(OPENAPI_PATH),
        web_root=str(WEB_DIST),
        web_files=built_web_files(),
        jwks_cache_seconds=5,
        rate_limits=DEFAULT_RATE_LIMITS | {"auth.RequestPasswordReset": RateLimit(RESET_REQUESTS_PER_MINUTE, 60)},
    )
    work = Path(tempfile.mkdtemp(prefix="mesh-web-"))
    viewer = start_mail_viewer(notify.mail.sink.directory, port=free_port())
    edge = await start_edge(settings, work, log_path=work / "envoy.log", concurrency=1)
    try:
        yield MailStorefront(auth, notify, edge, viewer, browser_path)
    finally:
        await stop_edge(edge)
        viewer.stop()
        shutil.rmtree(work, ignore_errors=True)
