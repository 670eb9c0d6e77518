"""Search quality and correctness on the demo catalog, in a real PostgreSQL, through ProductSearch."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.catalog.demo import catalog_document
from services.catalog.domain import ACTIVE, INACTIVE
from services.catalog.embeddings import Embedder
from services.catalog.filters import ProductFilter
from services.catalog.search import (
    HYBRID,
    LEXICAL,
    MODES,
    SEMANTIC,
    ProductSearch,
    SearchHit,
)
from services.catalog.search_indexes import SearchIndexes
from services.catalog.vector_index import COARSE_PASS_FROM, IndexedProduct, VectorIndex
from services.kit.bus import StreamTail
from services.kit.db import create_engine, drop_database, ensure_database, session_factory
from services.kit.ids import new_id
from services.kit.migrate import migrate
from services.kit.outbox import make_envelope
from tests.support.polling import eventually

MIGRATIONS = Path("services/catalog/migrations")
SELLERS = (str(uuid.uuid4()), str(uuid.uuid4()))


def attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(attribute_text(item) for item in value)
    return str(value)


@dataclass
class Catalog:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    search: ProductSearch
    indexes: SearchIndexes
    embedder: Embedder
    rows: dict[str, dict[str, Any]]  # product id -> the row as inserted

    async def find(
        self, query: str, mode: str = HYBRID, where: ProductFilter | None = None, **page: int
    ) -> list[SearchHit]:
        async with self.sessions() as session:
            return await self.search.search(
                session,
                query=query,
                mode=mode,
                filter=where or ProductFilter(),
                limit=page.get("limit", 10),
                offset=page.get("offset", 0),
            )

    def title(self, hit: SearchHit) -> str:
        return str(self.rows[hit.product_id]["title"])

    async def write(self, product_id: str, **changes: Any) -> None:
        """Changes a product row (and its embedding) as the catalog's write path would."""
        row = self.rows[product_id] | changes
        document = ProductSearch.document_text(
            row["title"], row["description"], row["brand"], row["category"], row["attributes"]
        )
        row["embedding"] = await self.search.embed_document(document)
        assignments = ", ".join(f"{name} = :{name}" for name in [*changes, "embedding"] if name != "attributes")
        if "attributes" in changes:
            assignments += ", attributes = CAST(:attributes AS jsonb)"
        params = {name: row[name] for name in [*changes, "embedding"]}
        if "attributes" in params:
            params["attributes"] = _json(params["attributes"])
        async with self.sessions() as session, session.begin():
            await session.execute(
                text(f"UPDATE products SET {assignments} WHERE id = :id"), {**params, "id": product_id}
            )
        self.rows[product_id] = row


def _json(value: Any) -> str:
    return json.dumps(value)


def _variants(number: int, sizes: list[str], stock: int) -> list[dict[str, Any]]:
    """The product's variants: one per size (some out of stock, some held by reservations, some INACTIVE), or
    its default variant with the product's stock."""
    if not sizes:
        reserved = stock if number % 11 == 0 else 0  # on hand, yet not available
        return [{"id": new_id(), "option_values": {}, "stock": stock, "reserved": reserved, "status": ACTIVE}]
    made = []
    for position, size in enumerate(sizes):
        turn = number + position
        units = turn % 4 * 3
        made.append(
            {
                "id": new_id(),
                "option_values": {"size": size},
                "stock": units,
                "reserved": units if turn % 5 == 0 else 0,
                "status": INACTIVE if turn % 7 == 3 else ACTIVE,
            }
        )
    return made


def _demo_rows() -> list[dict[str, Any]]:
    """The demo catalog; jackets and shoes come in their sizes (an option with a variant per size, with stock
    made here: some sold out, some reserved, some INACTIVE)."""
    document = catalog_document(600)
    now = datetime.now(UTC)
    rows = []
    for number, product in enumerate(document["products"]):
        attributes = dict(product["attributes"])
        # The demo's sizes, each a variant made here with stock of its own; its colour option is left out.
        sizes = [str(size) for size in product.get("options", {}).get("size", ())]
        variants = _variants(number, sizes, int(product["stock"]))
        selling = [variant for variant in variants if variant["status"] == ACTIVE]
        rows.append(
            {
                "id": new_id(),
                "seller_id": SELLERS[number % 2],
                "sku": product["sku"],
                "title": product["title"],
                "description": product["description"],
                "category": product["category"],
                "brand": product["brand"],
                "attributes": {key: attribute_text(value) for key, value in attributes.items()},
                "options": [{"name": "size", "values": sizes}] if sizes else [],
                "price_units": int(product["price_minor"]),
                # A few products in another currency, so a currency filter has something to exclude.
                "currency": "EUR" if number % 17 == 0 else document["currency"],
                # The sums over the ACTIVE variants, as the catalog keeps them.
                "stock": sum(variant["stock"] for variant in selling),
                "reserved": sum(variant["reserved"] for variant in selling),
                "status": "INACTIVE" if number % 23 == 0 else "ACTIVE",
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "variants": variants,
            }
        )
    return rows


def _embedding_text(row: dict[str, Any]) -> str:
    """As ProductSearch.product_text: the offered option values beside the attributes."""
    details = dict(row["attributes"])
    for option in row["options"]:
        details[option["name"]] = ", ".join(option["values"])
    return ProductSearch.document_text(row["title"], row["description"], row["brand"], row["category"], details)


async def _insert(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    columns = [column for column in rows[0] if column != "variants"]
    as_json = {"attributes", "options"}
    insert = text(
        f"INSERT INTO products ({', '.join(columns)}) VALUES "
        f"({', '.join(f'CAST(:{c} AS jsonb)' if c in as_json else f':{c}' for c in columns)})"
    )
    insert_variant = text(
        "INSERT INTO product_variants (id, product_id, seller_id, sku, option_values, price_units, stock, reserved,"
        " status, position, created_at, updated_at) VALUES (:id, :product_id, :seller_id, :sku,"
        " CAST(:option_values AS jsonb), NULL, :stock, :reserved, :status, :position, :now, :now)"
    )
    variants = [
        variant
        | {
            "product_id": row["id"],
            "seller_id": row["seller_id"],
            "sku": f"{row['sku']}-{position}",
            "option_values": _json(variant["option_values"]),
            "position": position,
            "now": row["created_at"],
        }
        for row in rows
        for position, variant in enumerate(row["variants"])
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert, [{c: _json(r[c]) if c in as_json else r[c] for c in columns} for r in rows])
        await session.execute(insert_variant, variants)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(threads=2)


@pytest.fixture(scope="module")
async def catalog(infra: Any, embedder: Embedder) -> AsyncIterator[Catalog]:
    name = f"t_search_{uuid.uuid4().hex[:12]}"
    url = await ensure_database(infra.database_url, name)
    engine = create_engine(url, pool_size=4, max_overflow=4)
    try:
        await migrate(MIGRATIONS, url)
        rows = _demo_rows()
        vectors = await asyncio.to_thread(embedder.embed, [_embedding_text(row) for row in rows])
        for row, vector in zip(rows, vectors, strict=True):
            row["embedding"] = vector.astype("<f4").tobytes()
        sessions = session_factory(engine)
        await _insert(sessions, rows)
        indexes = SearchIndexes(VectorIndex())
        await indexes.load(sessions)
        yield Catalog(engine, sessions, ProductSearch(embedder, indexes), indexes, embedder, {r["id"]: r for r in rows})
    finally:
        await engine.dispose()
        await drop_database(infra.database_url, name)


def admits(row: dict[str, Any], where: ProductFilter) -> bool:
    return (
        (row["status"] == "ACTIVE" or (INACTIVE in where.statuses and row["status"] == "INACTIVE"))
        and (where.category is None or row["category"] == where.category)
        and (where.seller_id is None or row["seller_id"] == where.seller_id)
        and (where.currency is None or row["currency"] == where.currency)
        and (where.min_price_units is None or row["price_units"] >= where.min_price_units)
        and (where.max_price_units is None or row["price_units"] <= where.max_price_units)
        and (not where.in_stock_only or row["stock"] - row["reserved"] > 0)
        and (where.brand is None or row["brand"].lower() == where.brand.lower())
        and all(row["attributes"].get(key) == value for key, value in where.attributes.items())
        and (not where.options or any(offers(variant, where) for variant in row["variants"]))
    )


def offers(variant: dict[str, Any], where: ProductFilter) -> bool:
    """Whether the variant is one the filter's options ask for."""
    values = {name: value.lower() for name, value in variant["option_values"].items()}
    return (
        variant["status"] == ACTIVE
        and all(values.get(name) == value.lower() for name, value in where.options.items())
        and (not where.in_stock_only or variant["stock"] - variant["reserved"] > 0)
    )


async def test_everything_is_loaded(catalog: Catalog) -> None:
    assert len(catalog.indexes.vector_index) == 600
    assert "headphones" in catalog.indexes.vocabulary
    assert "hedphones" not in catalog.indexes.vocabulary
    assert "xxl" in catalog.indexes.vocabulary  # an option value


@pytest.mark.parametrize("mode", [LEXICAL, HYBRID])
@pytest.mark.parametrize(
    ("query", "expected"),
    [("hedphones", "headphones"), ("expresso machine", "espresso machine"), ("backpak", "backpack")],
)
async def test_a_typo_still_finds_the_product(catalog: Catalog, mode: str, query: str, expected: str) -> None:
    hits = await catalog.find(query, mode, limit=5)

    assert hits, f"{query!r} found nothing in {mode}"
    titles = [catalog.title(hit) for hit in hits]
    assert expected in titles[0].lower(), titles
    # The next best are of the same kind: named so, or in the category of that name.
    assert all(
        expected in catalog.title(hit).lower() or expected in catalog.rows[hit.product_id]["category"]
        for hit in hits[:3]
    ), titles
    assert "title" in hits[0].matched_fields


@pytest.mark.parametrize("mode", [SEMANTIC, HYBRID])
async def test_a_need_in_other_words_finds_insulated_mugs(catalog: Catalog, mode: str) -> None:
    hits = await catalog.find("something to keep my coffee hot on the go", mode, limit=3)

    titles = [catalog.title(hit) for hit in hits]
    assert any("Insulated Travel Mug" in title for title in titles), titles
    if mode == SEMANTIC:
        assert all("semantic" in hit.matched_fields for hit in hits)


FILTERS = [
    ProductFilter(category="coffee"),
    ProductFilter(category="jackets", in_stock_only=True),
    ProductFilter(min_price_units=5000, max_price_units=12000),
    ProductFilter(seller_id=SELLERS[1], max_price_units=4000),
    ProductFilter(seller_id=SELLERS[0], category="shoes", in_stock_only=True),
    ProductFilter(currency="EUR"),
    ProductFilter(in_stock_only=True, statuses=(ACTIVE, INACTIVE)),
    ProductFilter(category="kitchen", min_price_units=2000, currency="USD", in_stock_only=True),
    ProductFilter(category="no-such-category"),
    ProductFilter(brand="northfold"),  # brands match whatever their case
    ProductFilter(attributes={"color": "black"}),
    ProductFilter(attributes={"color": "black", "gender": "unisex"}, in_stock_only=True),
    ProductFilter(brand="Summit & Co", attributes={"color": "green"}),
    ProductFilter(options={"size": "M"}),
    ProductFilter(options={"size": "m"}, in_stock_only=True),  # that variant in stock, not just the product
    ProductFilter(category="shoes", options={"size": "42"}, in_stock_only=True),
    ProductFilter(options={"size": "XXXL"}),  # no variant takes it
]
QUERIES = ["headphones", "warm jacket for winter", "black", "coffee", "hikng boots", "gift for a child", "steel"]


async def test_filters_are_never_violated(catalog: Catalog) -> None:
    checked = 0
    for where, query, mode in itertools.product(FILTERS, QUERIES, MODES):
        hits = await catalog.find(query, mode, where, limit=30)
        for hit in hits:
            row = catalog.rows[hit.product_id]
            assert admits(row, where), (query, mode, where, row)
        checked += len(hits)
        if where.category == "no-such-category":
            assert hits == []
    assert checked > 1000  # the filters were exercised on many hits, not vacuously


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("Northfold", ProductFilter(brand="NORTHFOLD")),
        ("black", ProductFilter(attributes={"color": "black"})),
        ("Alpenglow black", ProductFilter(brand="alpenglow", attributes={"color": "black"})),
        ("XL", ProductFilter(options={"size": "xl"}, in_stock_only=True)),
        ("shoes 42", ProductFilter(category="shoes", options={"size": "42"}, in_stock_only=True)),
    ],
)
async def test_brand_and_attribute_filters_page_through_every_match(
    catalog: Catalog, mode: str, query: str, where: ProductFilter
) -> None:
    # Each filtered product carries the query's words, so every mode must find all of them, page after page:
    # the filters are applied inside the search, not to pages cut before filtering.
    expected = {row["id"] for row in catalog.rows.values() if admits(row, where)}
    assert len(expected) >= 3
    found: list[str] = []
    while True:
        page = await catalog.find(query, mode, where, limit=4, offset=len(found))
        assert len(page) == 4 or len(found) + len(page) == len(expected), (len(found), len(page))
        found += [hit.product_id for hit in page]
        if len(page) < 4:
            break
    assert len(found) == len(set(found))
    assert set(found) == expected


async def test_inactive_products_are_found_only_when_asked_for(catalog: Catalog) -> None:
    inactive = next(row for row in catalog.rows.values() if row["status"] == "INACTIVE")
    for mode in MODES:
        everyone = await catalog.find(inactive["title"], mode, limit=50)
        assert inactive["id"] not in {hit.product_id for hit in everyone}
        with_inactive = await catalog.find(inactive["title"], mode, ProductFilter(statuses=(ACTIVE, INACTIVE)), limit=5)
        assert inactive["id"] in {hit.product_id for hit in with_inactive}


@pytest.mark.parametrize(
    ("query", "field", "word"),
    [("loafer", "title", "loafer"), ("northfold", "brand", "northfold"), ("olive", "attributes.color", "olive")],
)
async def test_matched_fields_name_the_fields_holding_the_words(
    catalog: Catalog, query: str, field: str, word: str
) -> None:
    hits = await catalog.find(query, LEXICAL, limit=10)

    assert hits
    for hit in hits:
        row = catalog.rows[hit.product_id]
        assert field in hit.matched_fields, (row, hit.matched_fields)
        value = row["attributes"]["color"] if field == "attributes.color" else row[field]
        assert word in value.lower()
        # A field without the word is not named.
        if word not in row["description"].lower():
            assert "description" not in hit.matched_fields


def sizes(row: dict[str, Any]) -> list[str]:
    return [value for option in row["options"] for value in option["values"]]


async def test_an_option_value_is_searchable_and_named_as_matched(catalog: Catalog) -> None:
    expected = {row["id"] for row in catalog.rows.values() if row["status"] == ACTIVE and "XXL" in sizes(row)}
    assert len(expected) >= 3
    hits = await catalog.find("xxl", LEXICAL, limit=50)

    assert {hit.product_id for hit in hits} == expected
    for hit in hits:
        assert hit.matched_fields == ["options"], hit


async def test_a_product_with_the_size_asked_for_ranks_first(catalog: Catalog) -> None:
    hits = await catalog.find("jacket XL", LEXICAL, limit=60)

    with_size = ["XL" in sizes(catalog.rows[hit.product_id]) for hit in hits]
    assert with_size[0] and not with_size[-1]  # both kinds are in the list...
    assert with_size == sorted(with_size, reverse=True)  # ...and every jacket in XL comes before the others
    assert "options" in hits[0].matched_fields and "title" in hits[0].matched_fields


async def test_a_typo_is_matched_through_its_correction(catalog: Catalog) -> None:
    hits = await catalog.find("nortfold", LEXICAL, limit=5)
    assert hits and all(catalog.rows[h.product_id]["brand"] == "Northfold" for h in hits)
    assert all("brand" in h.matched_fields for h in hits)


@pytest.mark.parametrize("mode", MODES)
async def test_hits_are_ordered_by_score_and_pages_follow_each_other(catalog: Catalog, mode: str) -> None:
    query = "waterproof jacket"
    whole = await catalog.find(query, mode, limit=20)
    first = await catalog.find(query, mode, limit=10)
    second = await catalog.find(query, mode, limit=10, offset=10)

    assert len(whole) == 20
    scores = [hit.score for hit in whole]
    assert scores == sorted(scores, reverse=True)
    assert [h.product_id for h in first + second] == [h.product_id for h in whole]
    assert len({h.product_id for h in whole}) == 20


async def test_lexical_ranks_whole_matches_first(catalog: Catalog) -> None:
    hits = await catalog.find("rain jacket", LEXICAL, limit=40)
    texts = [" ".join(str(v) for v in catalog.rows[hit.product_id].values()).lower() for hit in hits]
    whole = ["rain" in text and "jacket" in text for text in texts]
    assert whole[0] and not whole[-1]  # both kinds are in the list...
    assert whole == sorted(whole, reverse=True)  # ...and every whole match comes before every partial one


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query", ["", "   ", "!!!", "a", "'; DROP TABLE products; --", "foo & | ! :* (", "x" * 200])
async def test_odd_queries_do_not_fail(catalog: Catalog, mode: str, query: str) -> None:
    hits = await catalog.find(query, mode, limit=5)
    assert len(hits) <= 5
    if not query.strip():
        assert hits == []
    async with catalog.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM products")) == 600


async def test_hybrid_is_never_below_the_better_of_its_lists_on_an_exact_title(catalog: Catalog) -> None:
    # A product named exactly is first in lexical search; fusing in meaning must keep it first.
    for row in list(catalog.rows.values())[:40]:
        if row["status"] != ACTIVE:
            continue
        lexical = await catalog.find(row["title"], LEXICAL, limit=1)
        hybrid = await catalog.find(row["title"], HYBRID, limit=1)
        if lexical and lexical[0].product_id == row["id"]:
            assert hybrid[0].product_id == row["id"], row["title"]


def _snapshot_event(row: dict[str, Any]) -> events_pb2.ProductUpdated:
    snapshot = events_pb2.ProductSnapshot(
        id=row["id"],
        seller_id=row["seller_id"],
        sku=row["sku"],
        title=row["title"],
        category=row["category"],
        brand=row["brand"],
        price=money_pb2.Money(currency_code=row["currency"], units=row["price_units"]),
        stock=row["stock"],
        status=events_pb2.PRODUCT_STATUS_ACTIVE,
    )
    return events_pb2.ProductUpdated(product=snapshot, changed_fields=["title"])


async def test_the_index_follows_product_events(catalog: Catalog, infra: Any) -> None:
    redis = Redis.from_url(infra.redis_url)
    stream = f"events.catalog.{uuid.uuid4().hex}"
    stop = asyncio.Event()
    tail = StreamTail(redis, stream)
    tail.add_handler(functools.partial(catalog.indexes.apply_event, catalog.sessions))
    following = asyncio.create_task(tail.run(stop))
    try:
        # A product in the middle of the catalog becomes something no other product resembles.
        product = next(
            r
            for r in catalog.rows.values()
            if r["category"] == "books" and r["status"] == "ACTIVE" and r["stock"] - r["reserved"] > 0
        )
        assert not await catalog.find("zanzibar", LEXICAL)
        await asyncio.sleep(0.1)  # let follow() pin the stream's end before the event is added
        await catalog.write(product["id"], title="Zanzibar Harbour Atlas", description="Maps of the spice islands.")
        envelope = make_envelope("catalog", product["id"], _snapshot_event(catalog.rows[product["id"]]))
        await redis.xadd(stream, {"envelope": envelope.SerializeToString()})

        async def typo_of_the_new_title_is_found() -> bool:
            hits = await catalog.find("zanzibr", LEXICAL, limit=1)  # the vocabulary learnt the new word
            return bool(hits) and hits[0].product_id == product["id"]

        await eventually(typo_of_the_new_title_is_found)
        semantic = await catalog.find("maps of spice islands", SEMANTIC, limit=1)
        assert semantic[0].product_id == product["id"]

        # Stock: the index hears the product's new availability from the event alone (the database still has
        # stock); the event's `available` is the variant's, the product's is `product_available`.
        where = ProductFilter(in_stock_only=True)
        assert product["id"] in {h.product_id for h in await catalog.find("zanzibar atlas", SEMANTIC, where, limit=3)}
        changed = events_pb2.StockChanged(
            product_id=product["id"],
            seller_id=product["seller_id"],
            variant_id=product["variants"][0]["id"],
            old_stock=5,
            new_stock=5,
            available=5,
            product_available=0,
        )
        await redis.xadd(stream, {"envelope": make_envelope("catalog", product["id"], changed).SerializeToString()})

        query = await asyncio.to_thread(catalog.embedder.embed_one, "zanzibar atlas")

        async def in_stock_in_the_index() -> bool:
            found = catalog.indexes.vector_index.search(query, 3, ProductFilter(in_stock_only=True))
            return product["id"] in {product_id for product_id, _ in found}

        async def out_of_stock_in_the_index() -> bool:
            return not await in_stock_in_the_index()

        await eventually(out_of_stock_in_the_index)

        # An event naming no variant carries no product total: the index reads the product again.
        older = events_pb2.StockChanged(
            product_id=product["id"], seller_id=product["seller_id"], old_stock=5, new_stock=0, available=0
        )
        await redis.xadd(stream, {"envelope": make_envelope("catalog", product["id"], older).SerializeToString()})
        await eventually(in_stock_in_the_index)

        # Deletion: gone from the index and the vocabulary.
        deleted = events_pb2.ProductDeleted(product_id=product["id"], seller_id=product["seller_id"], sku="x")
        await redis.xadd(stream, {"envelope": make_envelope("catalog", product["id"], deleted).SerializeToString()})

        async def forgotten() -> bool:
            return product["id"] not in catalog.indexes.vector_index and "zanzibar" not in catalog.indexes.vocabulary

        await eventually(forgotten)
    finally:
        stop.set()
        await asyncio.wait_for(following, timeout=3)
        await redis.xtrim(stream, maxlen=0)
        await redis.delete(stream)
        await redis.aclose()


async def test_a_random_sample_of_titles_finds_itself(catalog: Catalog) -> None:
    rng = random.Random(3)
    active = sorted(r["id"] for r in catalog.rows.values() if r["status"] == "ACTIVE")
    for product_id in rng.sample(active, 10):
        title = catalog.rows[product_id]["title"]
        for mode in MODES:
            hits = await catalog.find(title, mode, limit=3)
            assert product_id in {hit.product_id for hit in hits}, (mode, title)


async def test_the_coarse_pass_keeps_the_exact_top_ten(catalog: Catalog) -> None:
    """A large index searches reduced vectors first; on real embeddings it still finds the exact top ten."""
    rng = np.random.default_rng(5)
    bases = np.stack([np.frombuffer(row["embedding"], dtype="<f4") for row in catalog.rows.values()])
    copies = COARSE_PASS_FROM // len(bases) + 10
    # Variants of the demo products (as a big catalog has): each a demo vector moved a little.
    vectors = np.repeat(bases, copies, axis=0) + rng.normal(scale=0.02, size=(len(bases) * copies, bases.shape[1]))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex()
    for number, vector in enumerate(vectors):
        made = IndexedProduct(f"v{number}", "any", "seller", price_units=number % 1000, stock=number % 3, active=True)
        index.upsert(made, vector)
    index.fit_projection()
    assert index.projected

    wheres = [(ProductFilter(), lambda n: True), (ProductFilter(in_stock_only=True), lambda n: n % 3 > 0)]
    queries = [*QUERIES, "insulated mug for coffee on the go", "waterproof hiking boots", "a warm coat for winter"]
    overlaps = []
    for query in queries:
        vector = await asyncio.to_thread(catalog.embedder.embed_one, query)
        exact_scores = vectors @ vector
        for where, admitted in wheres:
            found = index.search(vector, 10, where)
            scores = np.where([admitted(n) for n in range(len(vectors))], exact_scores, -np.inf)
            exact = {f"v{n}" for n in np.argsort(-scores)[:10]}
            overlaps.append(len(exact & {product_id for product_id, _ in found}) / 10)
            # The scores returned are the exact cosines, best first.
            assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)
            for product_id, score in found:
                assert score == pytest.approx(float(exact_scores[int(product_id[1:])]), abs=1e-5)
    assert float(np.mean(overlaps)) >= 0.9, overlaps
