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
service token. Products are then upserted by (seller, SKU) in batches, in-process against the catalog's own
database, through the catalog's store, so every change writes its event to the outbox in the same
transaction, like any other write. Idempotent: an entry whose product already holds the same values changes
nothing and emits nothing. Stock is taken from the file only when a product is created; afterwards it belongs
to AdjustStock and to orders, so re-importing a file never undoes sales.

Run by hand while `make run` runs, it needs nothing exported: its settings come from the stack's run file
(`services.kit.cli.command_settings`). What it cannot reach (auth, the catalog's database) or what refuses it is
said in one line, and nothing is changed: the database is checked before the seller is ensured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import yaml
from google.protobuf.message import Message
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from services.catalog import demo, domain
from services.catalog.handlers.events import event_payload
from services.catalog.handlers.products import NewProduct
from services.catalog.search import ProductSearch, vector_bytes
from services.catalog.settings import CatalogSettings
from services.catalog.store import Products, products
from services.kit.cli import CommandFailed, command_settings, database_failure, require_client_secret, rpc_failure
from services.kit.clients import ServiceToken, call, channel
from services.kit.db import create_engine, session_factory
from services.kit.errors import FailedPrecondition, InvalidArgument
from services.kit.ids import new_id
from services.kit.interceptors import RequestValidator
from services.kit.uow import UnitOfWork

DEFAULT_CURRENCY = "USD"


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (not YAML, no product list): nothing is imported."""


@dataclass(frozen=True)
class CatalogEntry(NewProduct):
    """One valid product of the file: what CreateProduct takes, and the line it came from."""

    line: int


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


def batches(items: Sequence[CatalogEntry], size: int) -> list[Sequence[CatalogEntry]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- writing ------------------------------------------------------------------------------------------------

BATCH_SIZE = 200


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # why each valid entry was still not written

    def line(self, rejected: int) -> str:
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {len(self.skipped) + rejected}"
        )


def _changes(entry: CatalogEntry) -> dict[str, Any]:
    """The fields an import sets on an existing product (stock is not one: see the module's docstring)."""
    return {
        "title": entry.title,
        "description": entry.description,
        "category": entry.category,
        "brand": entry.brand,
        "attributes": entry.attributes,
        "price": (entry.price_units, entry.currency),
    }


Embed = Callable[[Sequence[str]], list[bytes]]
EventMapper = Callable[[Any], tuple[str, Message]]


class CatalogWriter:
    """Upserts entries for one seller through the catalog's domain and store, one unit of work per batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], embed: Embed, *, events: EventMapper) -> None:
        self._sessions = sessions
        self._embed = embed  # CPU-bound: called in a worker thread
        self._events = events

    async def write(self, seller_id: str, entries: Sequence[CatalogEntry], summary: ImportSummary) -> None:
        for batch in batches(entries, BATCH_SIZE):
            await self._write_batch(seller_id, batch, summary)

    async def _write_batch(self, seller_id: str, batch: Sequence[CatalogEntry], summary: ImportSummary) -> None:
        now = datetime.now(UTC)
        async with UnitOfWork(self._sessions, source="catalog", events=self._events) as uow:
            store = Products(uow.session)
            # Locked: a concurrent writer (UpdateProduct, an order) waits for this batch and then sees it.
            rows = await uow.session.execute(
                select(products.c.id)
                .where(products.c.seller_id == seller_id, products.c.sku.in_([entry.sku for entry in batch]))
                .with_for_update()
            )
            existing = {product.sku: product for product in (await store.many(list(rows.scalars()))).values()}

            created: list[domain.Product] = []
            updated: list[tuple[domain.Product, list[str]]] = []
            for entry in batch:
                product = existing.get(entry.sku)
                if product is None:
                    created.append(_new_product(seller_id, entry, now))
                    continue
                try:
                    changed = product.update(_changes(entry), now)
                except FailedPrecondition as refused:  # e.g. an archived product: it stays archived
                    summary.skipped.append(f"line {entry.line}, sku {entry.sku}: {refused}")
                    continue
                if changed:
                    updated.append((product, changed))
                else:
                    summary.unchanged += 1

            # Only products whose text is new or changed need the model.
            needs_vector = created + [p for p, changed in updated if domain.TEXT_FIELDS.intersection(changed)]
            texts = [
                ProductSearch.document_text(p.title, p.description, p.brand, p.category, p.attributes)
                for p in needs_vector
            ]
            computed = await asyncio.to_thread(self._embed, texts) if texts else []
            vectors = dict(zip((p.id for p in needs_vector), computed, strict=True))
            for product in created:
                await store.add(uow.track(product), request_id=None, embedding=vectors[product.id])
            for product, _ in updated:
                await store.save(uow.track(product), embedding=vectors.get(product.id))
            await uow.commit()
        summary.created += len(created)
        summary.updated += len(updated)


def _new_product(seller_id: str, entry: CatalogEntry, now: datetime) -> domain.Product:
    return domain.Product.create(
        id=new_id(),
        seller_id=seller_id,
        sku=entry.sku,
        title=entry.title,
        description=entry.description,
        category=entry.category,
        brand=entry.brand,
        attributes=entry.attributes,
        price_units=entry.price_units,
        currency=entry.currency,
        stock=entry.stock,
        now=now,
    )


async def seller_product_count(sessions: async_sessionmaker[AsyncSession], seller_id: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(products).where(products.c.seller_id == seller_id)
        )
    return int(count or 0)


# --- the command --------------------------------------------------------------------------------------------


def model_embed(threads: int) -> Embed:
    """The catalog's embedding model, as the bytes stored in `products.embedding`."""
    from services.catalog.embeddings import Embedder

    embedder = Embedder(threads=threads, batch_size=64)

    def embed(texts: Sequence[str]) -> list[bytes]:
        return [vector_bytes(vector) for vector in embedder.embed(texts)]

    return embed


async def ensure_seller(settings: CatalogSettings, email: str, store_name: str) -> tuple[str, bool]:
    """The seller's user id (created if needed) from auth's EnsureSeller, with the catalog's service token.
    CommandFailed, naming the cause, when there are no credentials, auth is unreachable or refuses."""
    target = settings.auth_target
    auth = channel(target)
    try:
        token = ServiceToken(auth, settings.service, settings.service_client_secret)
        try:
            bearer = await token.get()
        except grpc.aio.AioRpcError as error:
            raise rpc_failure(
                error, service="auth", target=target, refused="the catalog's service credentials"
            ) from None
        stub = auth_pb2_grpc.AuthServiceStub(auth)
        request = auth_pb2.EnsureSellerRequest(email=email, store_name=store_name)
        try:
            response = await call(stub.EnsureSeller, request, metadata=[("authorization", f"Bearer {bearer}")])
        except grpc.aio.AioRpcError as error:
            raise rpc_failure(error, service="auth", target=target, refused=f"EnsureSeller for {email}") from None
        return str(response.user_id), bool(response.created)
    finally:
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
    embed: Embed | None = None,
    events: EventMapper | None = None,
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
        summary = ImportSummary()
        if once and await seller_product_count(sessions, seller_id) > 0:
            out("the seller already has products: nothing imported")
            return ImportResult(parsed, summary, seller_id, seller_created, already_loaded=True)
        writer = CatalogWriter(sessions, embed or model_embed(os.cpu_count() or 1), events=events or event_payload)
        await writer.write(seller_id, parsed.entries, summary)
    finally:
        await engine.dispose()
    for reason in summary.skipped:
        out(f"skipped {reason}")
    out(summary.line(len(parsed.rejected)))
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
