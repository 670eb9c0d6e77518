"""Debian's Chromium through Playwright, as every storefront test drives it: one page of a fresh context, and
the test fails when the page threw an error that nobody saw."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.web.conftest import SCREENSHOTS

STEP_TIMEOUT_MS = 15_000


@asynccontextmanager
async def open_page(browser_path: Path) -> AsyncIterator[Page]:
    """A page 1200×900 whose every wait gives up after `STEP_TIMEOUT_MS`; raises at the end if the page threw."""
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(browser_path), headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1200, "height": 900})
            context.set_default_timeout(STEP_TIMEOUT_MS)
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
        finally:
            await browser.close()
    assert not errors, errors


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot in var/screenshots/storefront/, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
