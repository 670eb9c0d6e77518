"""Product options and variants: what a buyer chooses (size, colour) and the forms a product is sold in.
Standard library only; `domain.Product` holds them and keeps them consistent.

A product declares its options in order (name -> allowed values). Every variant takes one declared value for
each option, and no two live (not retired) variants take the same values. A product without options has
exactly one variant, its default variant, so every cart line, order line and reservation names a variant.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.kit.errors import AlreadyExists, FailedPrecondition

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
ARCHIVED = "ARCHIVED"

MAX_OPTIONS = 3
MAX_OPTION_VALUES = 100
MAX_VARIANTS = 250

# What a SKU may hold (the contract's pattern), for SKUs made from a product's SKU and a variant's values.
_SKU_LENGTH = 64
_NOT_IN_SKU = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ProductOption:
    name: str
    values: tuple[str, ...]

    def declares(self, value: str) -> bool:
        return value in self.values


@dataclass
class Variant:
    id: str
    sku: str
    option_values: dict[str, str]
    # None: the product's price.
    own_price_units: int | None
    stock: int
    reserved: int
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.stock - self.reserved

    @property
    def live(self) -> bool:
        return self.status != ARCHIVED

    def key(self, options: Sequence[ProductOption]) -> tuple[str, ...]:
        """The variant's values in the options' order: what must differ between two live variants."""
        return tuple(self.option_values.get(option.name, "") for option in options)

    def label(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.option_values.items()) or "default"


@dataclass(frozen=True)
class VariantSpec:
    """A variant as a seller describes it (create, import, AddProductVariant)."""

    sku: str
    option_values: Mapping[str, str] = field(default_factory=dict)
    own_price_units: int | None = None
    stock: int = 0


def options_of(pairs: Iterable[tuple[str, Sequence[str]]]) -> list[ProductOption]:
    return [ProductOption(name, tuple(values)) for name, values in pairs]


def ensure_valid_options(options: Sequence[ProductOption]) -> None:
    """What the contract checks, again for callers that are not RPCs (the importer)."""
    if len(options) > MAX_OPTIONS:
        raise _invalid_options(f"a product has at most {MAX_OPTIONS} options")
    names = [option.name for option in options]
    if len(set(names)) != len(names):
        raise _invalid_options("option names must be unique")
    for option in options:
        if not 1 <= len(option.values) <= MAX_OPTION_VALUES:
            raise _invalid_options(f"option {option.name} needs 1 to {MAX_OPTION_VALUES} values")
        if len(set(option.values)) != len(option.values):
            raise _invalid_options(f"the values of option {option.name} must be unique")


def _invalid_options(message: str) -> FailedPrecondition:
    return FailedPrecondition(message, reason="INVALID_OPTIONS")


def ensure_declared(options: Sequence[ProductOption], option_values: Mapping[str, str]) -> None:
    """Every option named once with one of its values, and nothing else."""
    declared = {option.name: option for option in options}
    for name, value in option_values.items():
        option = declared.get(name)
        if option is None or not option.declares(value):
            raise FailedPrecondition(
                f"{name} {value!r} is not among the product's options",
                reason="UNDECLARED_OPTION_VALUE",
                metadata={"option": name, "value": value},
            )
    missing = [name for name in declared if name not in option_values]
    if missing:
        raise FailedPrecondition(
            f"a variant needs a value for every option: {', '.join(missing)} missing",
            reason="UNDECLARED_OPTION_VALUE",
            metadata={"option": missing[0]},
        )


def ensure_distinct(options: Sequence[ProductOption], variants: Sequence[Variant]) -> None:
    """No two live variants take the same values; at most MAX_VARIANTS live ones; at least one."""
    live = [variant for variant in variants if variant.live]
    if not live:
        raise FailedPrecondition(
            "a product keeps at least one variant; archive the product instead", reason="LAST_VARIANT"
        )
    if len(live) > MAX_VARIANTS:
        raise FailedPrecondition(
            f"a product has at most {MAX_VARIANTS} variants",
            reason="TOO_MANY_VARIANTS",
            metadata={"max_variants": str(MAX_VARIANTS)},
        )
    seen: dict[tuple[str, ...], Variant] = {}
    for variant in live:
        key = variant.key(options)
        if key in seen:
            raise FailedPrecondition(
                f"two variants would both be {variant.label()}",
                reason="DUPLICATE_VARIANT",
                metadata={"variant_id": seen[key].id, "values": variant.label()},
            )
        seen[key] = variant


def combinations(options: Sequence[ProductOption]) -> list[dict[str, str]]:
    """Every combination of the options' values, first option slowest; [{}] without options."""
    if len(options) and _count(options) > MAX_VARIANTS:
        raise FailedPrecondition(
            f"the options make {_count(options)} combinations; a product has at most {MAX_VARIANTS} variants",
            reason="TOO_MANY_VARIANTS",
            metadata={"max_variants": str(MAX_VARIANTS)},
        )
    names = [option.name for option in options]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(o.values for o in options))]


def _count(options: Sequence[ProductOption]) -> int:
    total = 1
    for option in options:
        total *= len(option.values)
    return total


def variant_sku(product_sku: str, option_values: Mapping[str, str], taken: set[str]) -> str:
    """A SKU for a generated variant: the product's SKU and the values, e.g. TEE-1-M-NAVY; unique in `taken`."""
    parts = [product_sku, *(_NOT_IN_SKU.sub("-", value).strip("-._") for value in option_values.values())]
    base = "-".join(part for part in parts if part)[:_SKU_LENGTH]
    sku, number = base, 2
    while sku.upper() in taken:
        suffix = f"-{number}"
        sku, number = base[: _SKU_LENGTH - len(suffix)] + suffix, number + 1
    taken.add(sku.upper())
    return sku


def specs_for(
    product_sku: str, options: Sequence[ProductOption], stock: int, given: Sequence[VariantSpec]
) -> list[VariantSpec]:
    """The variants a new product starts with: `given`, or one per combination of the option values (each
    with the product's price and `stock`); without options, the default variant (the product's SKU)."""
    if given:
        return list(given)
    if not options:
        return [VariantSpec(sku=product_sku, stock=stock)]
    taken: set[str] = set()
    return [
        VariantSpec(sku=variant_sku(product_sku, values, taken), option_values=values, stock=stock)
        for values in combinations(options)
    ]


def ensure_unique_skus(variants: Sequence[Variant]) -> None:
    seen: set[str] = set()
    for variant in variants:
        if variant.sku in seen:
            raise AlreadyExists(
                "two variants of the product have the same SKU", reason="SKU_TAKEN", metadata={"sku": variant.sku}
            )
        seen.add(variant.sku)


# A word of a query or a value: letters and digits, a decimal part ("10.5", "10,5") and an apostrophe's part
# ("men's") included, so "men's" does not name size S nor "I'm" size M.
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+|['\u2019][^\W_]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("\u2019", "'"))


def _spans(words: Sequence[str], value: str) -> list[tuple[int, int]]:
    """Where the value's words appear one after another among `words` ("navy blue", "10.5", "XL")."""
    wanted = _words(value)
    width = len(wanted)
    if not width:
        return []
    return [
        (start, start + width)
        for start in range(len(words) - width + 1)
        if list(words[start : start + width]) == wanted
    ]


def _named_values(option: ProductOption, words: Sequence[str]) -> set[str]:
    """The option's values the words name (case-folded). A value named only inside a longer named value is
    not: "navy blue" names Navy Blue, not Blue as well."""
    found = {value.casefold(): spans for value in option.values if (spans := _spans(words, value))}

    def inside_a_longer_value(value: str, span: tuple[int, int]) -> bool:
        start, end = span
        return any(
            outer_start <= start and end <= outer_end and outer_end - outer_start > end - start
            for other, spans in found.items()
            if other != value
            for outer_start, outer_end in spans
        )

    return {value for value, spans in found.items() if not all(inside_a_longer_value(value, span) for span in spans)}


def matching_variants(
    options: Sequence[ProductOption],
    variants: Sequence[Variant],
    query: str,
    wanted: Mapping[str, str],
    *,
    in_stock_only: bool = False,
) -> list[Variant]:
    """The ACTIVE variants taking the option values a search query names and a filter asks for (`wanted`,
    case-insensitive; a filter's value replaces the query's for its option). Empty when neither names a value
    of the product's options: every variant is as good. With `in_stock_only`, those in stock when any is (a
    filter asking for an option in stock always leaves one).

    A query naming values of several options asks for the variants taking one of each ("navy t-shirt size M");
    several values of one option, for any of them ("navy or black t-shirt")."""
    words = _words(query)
    chosen: dict[str, set[str]] = {}
    for option in options:
        named = _named_values(option, words)
        if option.name in wanted:
            named = {wanted[option.name].casefold()}
        if named:
            chosen[option.name] = named
    if not chosen:
        return []
    matching = [
        variant
        for variant in variants
        if variant.status == ACTIVE
        and all(variant.option_values.get(name, "").casefold() in values for name, values in chosen.items())
    ]
    if in_stock_only:
        in_stock = [variant for variant in matching if variant.available > 0]
        return in_stock or matching
    return matching
