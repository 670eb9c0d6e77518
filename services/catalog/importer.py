"""`python -m services.catalog import FILE --seller EMAIL`: loads a catalog YAML for one seller.

The file format is the one of examples/catalog.yaml (and of `python -m services.catalog demo`): a `currency`
(ISO 4217) and a list of `products`, each with sku, title, description, category, brand, attributes, price_minor
and stock. Attribute values may be strings, numbers, booleans or lists; lists are joined with "," (the
contract's multi-valued form).

A product sold in several forms lists its `options`, in display order: a mapping of option name to its values
(`options: {size: [S, M, L], color: [navy, red]}`) or a list of `{name: size, values: [S, M, L]}`. Its variants
are then either
- every combination of the values (no `variants` given): each with the product's price and `stock`, its SKU
  made from the product's SKU and the values (TEE-1-S-navy); or
- exactly the listed `variants`, each with `sku`, `values` (option -> value, one for every option), optional
  `price_minor` (its own price in minor units, like the product's; without it, the product's price) and
  `stock`. The product's own `stock` is then not used.
A product without options has one variant, whose SKU is the product's. Option values, like attribute values, may
be written as numbers (`size: [38, 39]`); they are stored as text.

Every entry is checked as CreateProduct would check it: it is turned into a CreateProductRequest (options and
variants included) and run through protovalidate, then built by the domain, so an undeclared value, two
variants with the same values or too many combinations are found before anything is written. A bad entry (or a
product or variant SKU used twice in the file) is reported with its SKU and line and SKIPPED; the valid entries
are still imported and the command exits with status 1, so a script notices. Product text is data: it is stored
as written, whatever it says.

The seller is found (or created, with no usable password) through auth's EnsureSeller with the catalog's
service token. Products are then upserted by (seller, SKU) through the catalog's own import use case
(services/catalog/handlers/catalog_import.py, whose docstring says what importing again updates), in-process
against the catalog's database: the same domain, store, unit of work and events as CreateProduct and
UpdateProduct. Idempotent: an entry whose product already holds the same values changes nothing and emits
nothing. Stock is taken from the file only when a product or a variant is created; afterwards it belongs to
AdjustStock and to orders, so re-importing a file never undoes sales.

Run by hand while `make run` runs, it needs nothing exported: its settings come from the stack's run file
(`services.kit.cli.command_settings`). What it cannot reach (auth, the catalog's database) or what refuses it is
said in one line, and nothing is changed: the database is checked before the seller is ensured.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import yaml
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from services.catalog import demo, variants
from services.catalog.domain import Caller
from services.catalog.embeddings import LazyEmbedder, TextEmbedder
from services.catalog.handlers import catalog_import
from services.catalog.handlers.catalog_import import ImportSummary
from services.catalog.handlers.deps import Deps
from services.catalog.handlers.products import NewProduct
from services.catalog.search import ProductSearch
from services.catalog.search_indexes import SearchIndexes
from services.catalog.settings import CatalogSettings
from services.catalog.variants import ProductOption, VariantSpec
from services.catalog.vector_index import VectorIndex
from services.kit.cli import CommandFailed, command_settings, database_failure, require_client_secret, rpc_failure
from services.kit.clients import Peers, call
from services.kit.db import create_engine, session_factory
from services.kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from services.kit.interceptors import RequestValidator

DEFAULT_CURRENCY = "USD"
# The keys a variant entry may have (anything else is most likely a typo, e.g. `stok`).
VARIANT_KEYS = frozenset({"sku", "values", "price_minor", "stock"})
# Protobuf refuses integers beyond its fields' ranges on assignment: they are reported like any other problem.
INT32_END = 2**31
INT64_END = 2**63


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (not YAML, no product list): nothing is imported."""


@dataclass(frozen=True)
class CatalogEntry(NewProduct):
    """One valid product of the file: what CreateProduct takes, and the line it came from."""

    line: int = 0
    # The line of each item of the entry's `variants`, for the problems that name one.
    variant_lines: Sequence[int] = ()


@dataclass(frozen=True)
class RejectedEntry:
    sku: str
    line: int
    problems: list[str]

    def describe(self) -> str:
        return f"line {self.line}, sku {self.sku or '(none)'}: {'; '.join(self.problems)}"


@dataclass
class ParsedCatalog:
    entries: list[CatalogEntry] = field(default_factory=list)
    rejected: list[RejectedEntry] = field(default_factory=list)


@dataclass(frozen=True)
class EntryLines:
    """Where a product entry starts, and where each item of its `variants` starts (1-based)."""

    line: int
    variants: list[int] = field(default_factory=list)


def attribute_text(value: Any) -> str:
    """An attribute value as the contract's string: lists joined with ",", booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(attribute_text(item) for item in value)
    if value is None:
        return ""
    return str(value)


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _integer(raw: Mapping[str, Any], key: str, problems: list[str], *, where: str = "") -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}{key}: must be a whole number")
        return 0
    return value


def _value_text(value: Any) -> str | None:
    """An option value as text (numbers and booleans as an attribute's), or None when it is not a scalar."""
    if value is None or isinstance(value, dict | list):
        return None
    return attribute_text(value).strip()


def _option(name: Any, values: Any, problems: list[str]) -> ProductOption | None:
    if not isinstance(values, list):
        problems.append(f"options.{name}: must be a list of values")
        return None
    texts = [_value_text(value) for value in values]
    if None in texts:
        problems.append(f"options.{name}: each value must be a single word, number or phrase")
        return None
    return ProductOption(str(name).strip(), tuple(text for text in texts if text is not None))


def _options(raw: Mapping[str, Any], problems: list[str]) -> list[ProductOption]:
    """`options` as a mapping (name -> values) or a list of {name, values} (or one-key {name: values})."""
    given = raw.get("options")
    if given is None:
        return []
    pairs: list[tuple[Any, Any]] = []
    if isinstance(given, dict):
        pairs = list(given.items())
    elif isinstance(given, list):
        for index, item in enumerate(given):
            if isinstance(item, dict) and set(item) == {"name", "values"}:
                pairs.append((item["name"], item["values"]))
            elif isinstance(item, dict) and len(item) == 1:
                pairs.extend(item.items())
            else:
                problems.append(f"options[{index}]: must be {{name: NAME, values: [...]}}")
    else:
        problems.append("options: must be a mapping of option name to its values, e.g. {size: [S, M, L]}")
    options = [_option(name, values, problems) for name, values in pairs]
    return [option for option in options if option is not None]


def _variant(raw: Any, index: int, problems: list[str]) -> VariantSpec | None:
    where = f"variants[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping with sku, values, price_minor and stock")
        return None
    unknown = sorted(str(key) for key in raw if key not in VARIANT_KEYS)
    if unknown:
        problems.append(
            f"{where}: unknown field {', '.join(unknown)} (a variant has {', '.join(sorted(VARIANT_KEYS))})"
        )
    given = raw.get("values") or {}
    if not isinstance(given, dict):
        problems.append(f"{where}.values: must be a mapping of option name to value, e.g. {{size: M}}")
        given = {}
    option_values: dict[str, str] = {}
    for name, value in given.items():
        text = _value_text(value)
        if text is None:
            problems.append(f"{where}.values.{name}: must be one value")
        else:
            option_values[str(name).strip()] = text
    own_price = None if raw.get("price_minor") is None else _integer(raw, "price_minor", problems, where=f"{where}.")
    return VariantSpec(
        sku=_text(raw, "sku"),
        option_values=option_values,
        own_price_units=own_price,
        stock=_integer(raw, "stock", problems, where=f"{where}."),
    )


def _variants(raw: Mapping[str, Any], problems: list[str]) -> list[VariantSpec]:
    given = raw.get("variants")
    if given is None:
        return []
    if not isinstance(given, list):
        problems.append("variants: must be a list of variants, each with sku, values, price_minor and stock")
        return []
    specs = [_variant(item, index, problems) for index, item in enumerate(given)]
    return [spec for spec in specs if spec is not None]


def _entry_lines(text: str) -> list[EntryLines]:
    """Where each item of `products` starts, and its variants (composed separately: values carry no marks)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "products" and isinstance(value, yaml.SequenceNode):
            return [EntryLines(item.start_mark.line + 1, _variant_lines(item)) for item in value.value]
    return []


def _variant_lines(product: yaml.Node) -> list[int]:
    if not isinstance(product, yaml.MappingNode):
        return []
    for key, value in product.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "variants" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


_VARIANT_PATH = re.compile(r"^(?:product\.)?variants\[(\d+)\][^:]*")


def _with_variant_line(problem: str, entry: CatalogEntry) -> str:
    """A problem of the file's third variant (`product.variants[2].sku: ...`) told with that variant's line."""
    match = _VARIANT_PATH.match(problem)
    if match is None or int(match[1]) >= len(entry.variant_lines):
        return problem
    return f"{match[0]} (line {entry.variant_lines[int(match[1])]}){problem[match.end() :]}"


class EntryValidator:
    """Checks an entry as CreateProduct would: the kit's protovalidate check of a CreateProductRequest, then
    what the domain refuses when it builds the product (values not declared, repeated combinations...)."""

    def __init__(self) -> None:
        self._check = RequestValidator().check

    def problems(self, entry: CatalogEntry) -> list[str]:
        return self._contract_problems(entry) or self._domain_problems(entry)

    def _contract_problems(self, entry: CatalogEntry) -> list[str]:
        out_of_range = _out_of_range(entry)
        if out_of_range:
            return out_of_range
        request = catalog_pb2.CreateProductRequest(
            product=catalog_pb2.Product(
                sku=entry.sku,
                title=entry.title,
                description=entry.description,
                category=entry.category,
                brand=entry.brand,
                attributes=entry.attributes,
                price=money_pb2.Money(currency_code=entry.currency, units=entry.price_units),
                stock=entry.stock,
                options=[catalog_pb2.ProductOption(name=option.name, values=option.values) for option in entry.options],
                variants=[_variant_message(spec, entry.currency) for spec in entry.variants],
            ),
            # Required by the contract; the import is idempotent by SKU instead, so any valid id does.
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"catalog-import:{entry.sku}")),
        )
        try:
            self._check(request)
        except InvalidArgument as invalid:
            return [f"{violation.field}: {violation.description}" for violation in invalid.violations]
        return []

    @staticmethod
    def _domain_problems(entry: CatalogEntry) -> list[str]:
        """Each listed variant's own problems (by index), then whatever else the domain refuses."""
        if entry.variants and not entry.options:
            return ["variants: a product with variants needs options, one value of each per variant"]
        problems: list[str] = []
        skus: dict[str, int] = {}
        combinations: dict[tuple[str, ...], int] = {}
        for index, spec in enumerate(entry.variants):
            where = f"product.variants[{index}]"
            if not spec.sku:
                problems.append(f"{where}.sku: a variant needs its own SKU")
            elif spec.sku in skus:
                problems.append(f"{where}.sku: {spec.sku} is already the SKU of product.variants[{skus[spec.sku]}]")
            else:
                skus[spec.sku] = index
            if spec.own_price_units is not None and spec.own_price_units <= 0:
                problems.append(f"{where}.price_minor: a variant's own price must be more than zero")
            try:
                variants.ensure_declared(entry.options, spec.option_values)
            except FailedPrecondition as undeclared:
                problems.append(f"{where}.values: {undeclared.message}")
                continue
            key = tuple(spec.option_values[option.name] for option in entry.options)
            if key in combinations:
                label = ", ".join(f"{option.name} {value}" for option, value in zip(entry.options, key, strict=True))
                problems.append(f"{where}.values: {label}: the same values as product.variants[{combinations[key]}]")
            else:
                combinations[key] = index
        if problems:
            return problems
        try:
            entry.new_product(product_id=PLACEHOLDER_ID, seller_id=PLACEHOLDER_ID, now=datetime.now(UTC))
        except (FailedPrecondition, AlreadyExists) as refused:
            return [f"product: {refused.message}"]
        return []


# Ids for the product the domain check builds and throws away.
PLACEHOLDER_ID = "00000000-0000-7000-8000-000000000000"


def _out_of_range(entry: CatalogEntry) -> list[str]:
    problems: list[str] = []
    if not 0 <= entry.stock < INT32_END:
        problems.append("product.stock: must be between 0 and 1000000")
    if not 0 <= entry.price_units < INT64_END:
        problems.append("product.price.units: must not be negative")
    for index, spec in enumerate(entry.variants):
        # Only what protobuf cannot hold: the contract tells the rest (negative stock, say).
        if not -INT32_END <= spec.stock < INT32_END:
            problems.append(f"product.variants[{index}].stock: must be between 0 and 1000000")
        if spec.own_price_units is not None and not -INT64_END <= spec.own_price_units < INT64_END:
            problems.append(f"product.variants[{index}].price.units: must be between 0 and 100000000000")
    return problems


def _variant_message(spec: VariantSpec, currency: str) -> catalog_pb2.ProductVariant:
    variant = catalog_pb2.ProductVariant(sku=spec.sku, option_values=dict(spec.option_values), stock=spec.stock)
    if spec.own_price_units is not None:
        variant.price.CopyFrom(money_pb2.Money(currency_code=currency, units=spec.own_price_units))
    return variant


def variant_skus(entry: NewProduct) -> list[str]:
    """The SKUs of the variants the entry makes: those listed, the generated ones, or the product's own."""
    return [spec.sku for spec in variants.specs_for(entry.sku, entry.options, entry.stock, entry.variants)]


def parse_catalog(text: str, validator: EntryValidator | None = None) -> ParsedCatalog:
    """The file's valid entries and the rejected ones (with SKU, line and every problem)."""
    try:
        document = yaml.safe_load(text)
        lines = _entry_lines(text)
    except yaml.YAMLError as error:
        raise CatalogFileError(f"not a valid YAML file: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise CatalogFileError("the file needs a top-level `products` list")
    currency = str(document.get("currency") or DEFAULT_CURRENCY).strip()
    validator = validator or EntryValidator()
    parsed = ParsedCatalog()
    seen: dict[str, int] = {}
    # Variant SKUs are unique among the seller's variants: a product's own SKU is its default variant's.
    seen_variants: dict[str, int] = {}
    for index, raw in enumerate(document["products"]):
        where = lines[index] if index < len(lines) else EntryLines(0)
        line = where.line
        if not isinstance(raw, dict):
            parsed.rejected.append(RejectedEntry("", line, ["not a mapping of product fields"]))
            continue
        problems: list[str] = []
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict):
            problems.append("attributes: must be a mapping")
            attributes = {}
        entry = CatalogEntry(
            sku=_text(raw, "sku"),
            title=_text(raw, "title"),
            description=_text(raw, "description"),
            category=_text(raw, "category"),
            brand=_text(raw, "brand"),
            attributes={str(key): attribute_text(value) for key, value in attributes.items()},
            price_units=_integer(raw, "price_minor", problems),
            currency=_text(raw, "currency") or currency,
            stock=_integer(raw, "stock", problems),
            options=_options(raw, problems),
            variants=_variants(raw, problems),
            line=line,
            variant_lines=where.variants,
        )
        if not problems:
            problems = validator.problems(entry)
        if entry.sku and entry.sku in seen:
            problems.append(f"sku: already used on line {seen[entry.sku]}")
        skus = [] if problems else variant_skus(entry)
        problems.extend(
            f"variant sku {sku}: already a variant's SKU on line {seen_variants[sku]}"
            for sku in skus
            if sku in seen_variants
        )
        if problems:
            parsed.rejected.append(RejectedEntry(entry.sku, line, [_with_variant_line(p, entry) for p in problems]))
            continue
        seen[entry.sku] = line
        seen_variants.update(dict.fromkeys(skus, line))
        parsed.entries.append(entry)
    return parsed


def entries_from_document(document: Mapping[str, Any]) -> str:
    """A catalog document (e.g. the generated demo) as YAML text, so it goes through the same checks."""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


# --- the command --------------------------------------------------------------------------------------------


def import_deps(settings: CatalogSettings, sessions: async_sessionmaker[AsyncSession], embedder: TextEmbedder) -> Deps:
    """The catalog's use-case dependencies for this command: its database and the embedding model; no image
    store (an import writes no image) and no search index (the running catalog's follows the events)."""
    search = ProductSearch(embedder, SearchIndexes(VectorIndex()))  # empty: used only to embed what is written
    # A one-off command: its few reads need no autocommit sessions of their own.
    return Deps(settings=settings, sessions=sessions, reads=sessions, search=search, images=None)


def summary_line(summary: ImportSummary, rejected: int) -> str:
    return (
        f"created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}, "
        f"skipped {len(summary.skipped) + rejected}"
    )


def describe_skipped(entry: NewProduct, reason: str) -> str:
    line = entry.line if isinstance(entry, CatalogEntry) else 0
    return f"line {line}, sku {entry.sku}: {reason}"


async def ensure_seller(settings: CatalogSettings, email: str, store_name: str) -> tuple[str, bool]:
    """The seller's user id (created if needed) from auth's EnsureSeller, with the catalog's service token.
    CommandFailed, naming the cause, when there are no credentials, auth is unreachable or refuses."""
    target = settings.auth_target
    # The kit's authorized channel, as every service calls another; its token fetched first, so a refused
    # credential is told apart from a refused EnsureSeller.
    peers = Peers(target, settings.service, settings.service_client_secret)
    authorized = peers.channel(target)
    token = peers.token
    try:
        try:
            await token.get()
        except grpc.aio.AioRpcError as error:
            raise rpc_failure(
                error, service="auth", target=target, refused="the catalog's service credentials"
            ) from None
        stub = auth_pb2_grpc.AuthServiceStub(authorized)
        request = auth_pb2.EnsureSellerRequest(email=email, store_name=store_name)
        try:
            response = await call(stub.EnsureSeller, request)
        except grpc.aio.AioRpcError as error:
            raise rpc_failure(error, service="auth", target=target, refused=f"EnsureSeller for {email}") from None
        return str(response.user_id), bool(response.created)
    finally:
        await peers.close()


async def check_database(sessions: async_sessionmaker[AsyncSession], url: str) -> None:
    """CommandFailed when the catalog's database cannot be used (unreachable, missing, not migrated)."""
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1 FROM products LIMIT 0"))
    except (OSError, TimeoutError, DBAPIError) as error:
        failure = database_failure(error, url)
        if failure is None:
            raise
        raise failure from None


def default_store_name(email: str) -> str:
    local = email.split("@", 1)[0].replace(".", " ").replace("_", " ").replace("-", " ").strip()
    return (local.title() or "Store")[:100]


@dataclass
class ImportResult:
    parsed: ParsedCatalog
    summary: ImportSummary
    seller_id: str
    seller_created: bool
    already_loaded: bool = False


async def import_catalog(
    settings: CatalogSettings,
    text: str,
    *,
    seller_email: str,
    store_name: str = "",
    once: bool = False,
    embedder: TextEmbedder | None = None,
    out: Callable[[str], None] = print,
) -> ImportResult:
    """Parses, reports bad entries, finds the seller, and upserts the rest. `once`: do nothing when the
    seller already has products (the demo load of `make run`)."""
    parsed = parse_catalog(text)
    for rejected in parsed.rejected:
        out(f"skipped {rejected.describe()}")
    # First: an empty secret would only come back from auth as IssueServiceToken's INVALID_ARGUMENT.
    require_client_secret(settings)
    engine = create_engine(settings.service_database_url, pool_size=2, max_overflow=0)
    try:
        sessions = session_factory(engine)
        await check_database(sessions, settings.service_database_url)
        seller_id, seller_created = await ensure_seller(
            settings, seller_email, store_name or default_store_name(seller_email)
        )
        out(f"seller {seller_email}: {'created' if seller_created else 'exists'} ({seller_id})")
        # The model is loaded only once there is something to write.
        deps = import_deps(settings, sessions, embedder or LazyEmbedder())
        seller = Caller(user_id=seller_id)
        if once and await catalog_import.seller_has_products(deps, seller):
            out("the seller already has products: nothing imported")
            return ImportResult(parsed, ImportSummary(), seller_id, seller_created, already_loaded=True)
        summary = await catalog_import.import_products(deps, seller, parsed.entries)
    finally:
        await engine.dispose()
    for entry, reason in summary.skipped:
        out(f"skipped {describe_skipped(entry, reason)}")
    out(summary_line(summary, len(parsed.rejected)))
    return ImportResult(parsed, summary, seller_id, seller_created)


USAGE = "python -m services.catalog import (FILE | --demo) --seller EMAIL [--store-name NAME] [--once]"
EPILOG = """example, while `make run` runs (in another terminal, nothing to export):
  .venv/bin/python -m services.catalog import examples/catalog.yaml --seller shop@example.com
The file format: examples/catalog.yaml, or `python -m services.catalog demo` (the generated demo catalog)."""


def main(argv: Sequence[str]) -> int:
    """`import FILE --seller EMAIL`; exit status 1 when any entry was skipped, 2 when nothing could be done."""
    parser = argparse.ArgumentParser(
        prog="python -m services.catalog import",
        usage=USAGE,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("file", nargs="?", help="a catalog YAML, e.g. examples/catalog.yaml (the format to follow)")
    source.add_argument("--demo", action="store_true", help="the generated demo catalog (services/catalog/demo.py)")
    parser.add_argument("--seller", required=True, help="the seller's email; the account is created if needed")
    parser.add_argument("--store-name", default="", help="the store name of a newly created seller")
    parser.add_argument("--once", action="store_true", help="do nothing when the seller already has products")
    args = parser.parse_args(list(argv))
    try:
        if args.demo:
            text = entries_from_document(demo.catalog_document())
        else:
            with open(args.file, encoding="utf-8") as file:
                text = file.read()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    settings = command_settings(CatalogSettings)
    try:
        result = asyncio.run(
            import_catalog(settings, text, seller_email=args.seller, store_name=args.store_name, once=args.once)
        )
    except CatalogFileError as error:
        print(f"nothing imported: {error}", file=sys.stderr)
        return 2
    except CommandFailed as failure:
        print(f"nothing imported: {failure}", file=sys.stderr)
        return 2
    return 1 if result.parsed.rejected or result.summary.skipped else 0
