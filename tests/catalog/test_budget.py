"""Budgets in a shopper's words read as price bounds, and words that only look like one left alone."""

from __future__ import annotations

import pytest

from services.catalog.budget import Budget, read_budget


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("running shoes under $50", Budget("running shoes", max_units=5000, currency="USD")),
        ("a warm jacket for less than 80 euros please", Budget("a warm jacket please", max_units=8000, currency="EUR")),
        ("hair mask, and price lower than 120.00 dollars", Budget("hair mask", max_units=12000, currency="USD")),
        ("mug between $10 and $20", Budget("mug", max_units=2000, min_units=1000, currency="USD")),
        ("gift for dad 25 dollars or less", Budget("gift for dad", max_units=2500, currency="USD")),
        ("headphones over $100", Budget("headphones", min_units=10000, currency="USD")),
        ("shoes under a hundred dollars", Budget("shoes", max_units=10000, currency="USD")),
        ("tent, one hundred and fifty dollars or less", Budget("tent", max_units=15000, currency="USD")),
        ("on a budget of £40, a nice teapot", Budget("a nice teapot", max_units=4000, currency="GBP")),
        ("shoes with a budget of 60", Budget("shoes", max_units=6000)),
    ],
)
def test_a_budget_becomes_a_price_bound(request_text: str, expected: Budget) -> None:
    assert read_budget(request_text) == expected


@pytest.mark.parametrize(
    "request_text",
    ["toy for kids under 5", "cake for over 40 years birthday", "between 2 and 4 people tent", "usb cable 2 m"],
)
def test_numbers_that_are_not_prices_stay_words(request_text: str) -> None:
    assert read_budget(request_text) == Budget(request_text)
