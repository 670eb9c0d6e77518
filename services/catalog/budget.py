"""Budgets in a shopper's words: "under $50", "less than 30 euros", "price lower than 90.00 dollars", "between
20 and 40 dollars", "$25 or less". Standard library only.

A search request says what it costs as often as what it is; as words to match, such a clause only adds noise
("dollars", "price", "lower"), so it is read as a price bound and taken out of the text. Amounts are read in
the currency's minor units with two decimals (dollars, euros, pounds: the currencies people write with a sign
or a name here); a bound without a currency applies to every currency, as a filter without one does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CURRENCY_WORDS = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}
_SIGN = r"(?P<sign{n}>[$€£])?"
_NAME = r"(?:\s*(?P<name{n}>usd|dollars?|bucks|eur|euros?|gbp|pounds?)\b)?"
_NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_SPELLED = "(?:" + "|".join([*_NUMBER_WORDS, *_SCALES]) + ")"
_AMOUNT = (
    r"(?:(?P<amount{n}>\d{{1,7}}(?:[.,]\d{{1,2}})?)"
    r"|(?P<spelled{n}>" + _SPELLED + r"(?:(?:\s+|-|\s+and\s+)" + _SPELLED + r")*)\b)"
)


def _money(n: int) -> str:
    return _SIGN.format(n=n) + r"\s*" + _AMOUNT.format(n=n) + _NAME.format(n=n)


_PRICE_WORDS = (
    r"(?P<context>(?:with\s+|at\s+|for\s+)?(?:a\s+|the\s+|my\s+)?(?:price|cost|budget)(?:\s+(?:of|is|being))?\s+)?"
)
_UPPER = (
    r"(?:under|below|less\s+than|lower\s+than|cheaper\s+than|no\s+more\s+than|not\s+more\s+than|at\s+most|"
    r"max(?:imum)?|up\s+to|within|for\s+less\s+than|not\s+over|no\s+(?:more|higher)\s+than|<=?)"
)
_LOWER = r"(?:over|above|more\s+than|at\s+least|min(?:imum)?|from|>=?)"
_JOIN = r"(?:\s*(?:,|and|with|that|which|is|are|costs?|priced)\s*)*"

_BETWEEN = re.compile(
    _JOIN + _PRICE_WORDS + r"\bbetween\s+" + _money(1) + r"\s*(?:and|to|-)\s*" + _money(2), re.IGNORECASE
)
_UPPER_BOUND = re.compile(_JOIN + _PRICE_WORDS + r"(?<![\w])" + _UPPER + r"\s+" + _money(1), re.IGNORECASE)
_OR_LESS = re.compile(_JOIN + _PRICE_WORDS + _money(1) + r"\s+or\s+(?:less|under|below|cheaper)\b", re.IGNORECASE)
_BUDGET_OF = re.compile(
    _JOIN + r"(?P<context>(?:with\s+|on\s+)?(?:a\s+|my\s+|the\s+)?budget(?:\s+(?:of|is))?\s+)" + _money(1),
    re.IGNORECASE,
)
_LOWER_BOUND = re.compile(_JOIN + _PRICE_WORDS + r"(?<![\w])" + _LOWER + r"\s+" + _money(1), re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    text: str  # the request without its budget clauses
    max_units: int | None = None
    min_units: int | None = None
    currency: str | None = None


def _spelled(words: str) -> int:
    """ "a hundred" -> 100, "twenty five" -> 25, "one hundred and fifty" -> 150, "two thousand" -> 2000."""
    total, current = 0, 0
    for word in re.split(r"[\s-]+", words.casefold()):
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] == 1000:
                total, current = total + current, 0
    return total + current


def _amount(match: re.Match[str], n: int) -> tuple[int, str | None, bool]:
    """(minor units, currency or None, whether a currency was written)."""
    digits = match.group(f"amount{n}")
    units = round(float(digits.replace(",", ".")) * 100) if digits else _spelled(match.group(f"spelled{n}")) * 100
    marker = (match.group(f"sign{n}") or match.group(f"name{n}") or "").casefold()
    return units, _CURRENCY_WORDS.get(marker), bool(marker)


def _is_price(match: re.Match[str], *numbers: int) -> bool:
    """A bound is a price when a currency is written or the words say so ("price under 30"): "toys for kids
    under 5" and "over 40 years" stay words."""
    written = any(match.group(f"sign{n}") or match.group(f"name{n}") for n in numbers)
    return bool(written or match.group("context"))


def read_budget(text: str) -> Budget:
    """The budget a request states, if any, and the request without it."""
    max_units: int | None = None
    min_units: int | None = None
    currency: str | None = None
    remaining = text

    def currency_of(found: str | None) -> None:
        nonlocal currency
        currency = currency or found

    match = _BETWEEN.search(remaining)
    if match and _is_price(match, 1, 2):
        low, low_currency, _ = _amount(match, 1)
        high, high_currency, _ = _amount(match, 2)
        min_units, max_units = min(low, high), max(low, high)
        currency_of(low_currency or high_currency)
        remaining = remaining[: match.start()] + " " + remaining[match.end() :]
    for pattern in (_UPPER_BOUND, _OR_LESS, _BUDGET_OF):
        match = pattern.search(remaining)
        if match and max_units is None and _is_price(match, 1):
            max_units, found, _ = _amount(match, 1)
            currency_of(found)
            remaining = remaining[: match.start()] + " " + remaining[match.end() :]
    match = _LOWER_BOUND.search(remaining)
    if match and min_units is None and _is_price(match, 1):
        min_units, found, _ = _amount(match, 1)
        currency_of(found)
        remaining = remaining[: match.start()] + " " + remaining[match.end() :]
    if max_units is None and min_units is None:
        return Budget(text)
    cleaned = " ".join(remaining.split()).strip(" ,;")
    return Budget(cleaned or text, max_units=max_units, min_units=min_units, currency=currency)
