"""`python -m services.catalog import FILE --seller EMAIL`: loads a catalog YAML for one seller.

The file format is the one of examples/catalog.yaml (and of `python -m services.catalog demo`): a `currency`
(ISO 4217) and a list of `products`, each with sku, title, description, category, brand, attributes, price_minor
and stock. Attribute values may be
strings, numbers, booleans or lists; lists are joined with "," (the contract's multi-valued form).

Every entry is checked against the contract: it is turned into a CreateProductRequest and run through
protovalidate, exactly as CreateProduct would check it. A bad entry (or a SKU that appears twice) is reported
with its SKU and line and SKIPPED; the valid entries are still imported and the command exits with status 1,
so a script notices. Product text is data: it is stored as written, whatever it says.

The seller is found (or created, with no usable password) through auth's EnsureSeller with the catalog's
service token. Products are then upserted by (seller, SKU) through the catalog's own import use case
(services/catalog/handlers/catalog_import.py), in-process against the catalog's database: the same domain,
store, unit of work and events as CreateProduct and UpdateProduct. Idempotent: an entry whose product already
holds the same values changes nothing and emits nothing. Stock is taken from the file only when a product is
created; afterwards it belongs to AdjustStock and to orders, so re-importing a file never undoes sales.

Run by hand while `make run` runs, it needs nothing exported: its settings come from the stack's run file
(`services.kit.cli.command_settings`). What it cannot reach (auth, the catalog's database) or what refuses it is
said in one line, and nothing is changed: the database is checked before the seller is ensured.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import yaml
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from services.catalog import demo
from services.catalog.domain import Caller
from services.catalog.embeddings import LazyEmbedder, TextEmbedder
from services.catalog.handlers import catalog_import
from services.catalog.handlers.catalog_import import ImportSummary
from services.catalog.handlers.deps import Deps
from services.catalog.handlers.products import NewProduct
from services.catalog.search import ProductSearch
from services.catalog.settings import CatalogSettings
from services.catalog.vector_index import VectorIndex
from services.kit.cli import CommandFailed, command_settings, database_failure, require_client_secret, rpc_failure
from services.kit.clients import ServiceToken, call, channel
from services.kit.db import create_engine, session_factory
from services.kit.errors import InvalidArgument
from services.kit.interceptors import RequestValidator

DEFAULT_CURRENCY = "USD"


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (not YAML, no product list): nothing is imported."""


@dataclass(frozen=True)
class CatalogEntry(NewProduct):
    """One valid product of the file: what CreateProduct takes, and the line it came from."""

    line: int = 0


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


def _integer(raw: Mapping[str, Any], key: str, problems: list[str]) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{key}: must be a whole number")
        return 0
    return value


def _product_lines(text: str) -> list[int]:
    """The 1-based line where each item of `products` starts (composed separately: values carry no marks)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "products" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


class EntryValidator:
    """Checks an entry as CreateProduct would: the kit's protovalidate check of a CreateProductRequest."""

    def __init__(self) -> None:
        self._check = RequestValidator().check

    def problems(self, entry: CatalogEntry) -> list[str]:
        # Protobuf refuses out-of-range integers on assignment: report them like any other problem.
        if not 0 <= entry.stock < 2**31:
            return ["product.stock: must be between 0 and 1000000"]
        if not 0 <= entry.price_units < 2**63:
            return ["product.price.units: must not be negative"]
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
            ),
            # Required by the contract; the import is idempotent by SKU instead, so any valid id does.
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"catalog-import:{entry.sku}")),
        )
        try:
            self._check(request)
        except InvalidArgument as invalid:
            return [f"{violation.field}: {violation.description}" for violation in invalid.violations]
        return []


def parse_catalog(text: str, validator: EntryValidator | None = None) -> ParsedCatalog:
    """The file's valid entries and the rejected ones (with SKU, line and every problem)."""
    try:
        document = yaml.safe_load(text)
        lines = _product_lines(text)
    except yaml.YAMLError as error:
        raise CatalogFileError(f"not a valid YAML file: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise CatalogFileError("the file needs a top-level `products` list")
    currency = str(document.get("currency") or DEFAULT_CURRENCY).strip()
    validator = validator or EntryValidator()
    parsed = ParsedCatalog()
    seen: dict[str, int] = {}
    for index, raw in enumerate(document["products"]):
        line = lines[index] if index < len(lines) else 0
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
            line=line,
        )
        if not problems:
            problems = validator.problems(entry)
        if entry.sku and entry.sku in seen:
            problems.append(f"sku: already used on line {seen[entry.sku]}")
        if problems:
            parsed.rejected.append(RejectedEntry(entry.sku, line, problems))
            continue
        seen[entry.sku] = line
        parsed.entries.append(entry)
    return parsed


def entries_from_document(document: Mapping[str, Any]) -> str:
    """A catalog document (e.g. the generated demo) as YAML text, so it goes through the same checks."""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


# --- the command --------------------------------------------------------------------------------------------


def import_deps(settings: CatalogSettings, sessions: async_sessionmaker[AsyncSession], embedder: TextEmbedder) -> Deps:
    """The catalog's use-case dependencies for this command: its database and the embedding model; no image
    store (an import writes no image) and no search index (the running catalog's follows the events)."""
    return Deps(settings=settings, sessions=sessions, search=ProductSearch(embedder, VectorIndex()), images=None)


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
    auth = channel(target)
    token = ServiceToken(auth, settings.service, settings.service_client_secret)
    # The kit's authorized channel, as every service calls another; its token fetched first, so a refused
    # credential is told apart from a refused EnsureSeller.
    authorized = channel(target, token=token)
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
        await authorized.close(None)
        await auth.close(None)


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
