"""Migration 0003 on a database holding today's products: each becomes a single-variant product with its stock,
its open reservations still whole, and nothing lost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from marketplace.catalog.v1 import catalog_pb2
from services.catalog.service import DEFINITION
from services.kit.ids import new_id
from services.kit.migrate import downgrade, upgrade
from tests.catalog.conftest import StartCatalog
from tests.support.sql import run_sql_at

PRODUCT_SQL = """
    INSERT INTO products (id, seller_id, sku, title, description, category, brand, attributes, price_units,
                          currency, stock, reserved, status, version, created_at, updated_at)
    VALUES (:id, :seller, :sku, :title, 'An old product.', 'kitchen', 'Thermia', '{"color": "teal"}', 1500,
            'USD', :stock, :reserved, :status, 1, :now, :now)
"""


async def _database_at_0002(fresh_database: Any) -> str:
    url: str = await fresh_database("catalog")
    assert DEFINITION.migrations is not None
    await asyncio.to_thread(upgrade, DEFINITION.migrations, url, "0002")
    return url


async def test_existing_products_become_single_variant_products(
    fresh_database: Any, start_catalog: StartCatalog
) -> None:
    url = await _database_at_0002(fresh_database)
    now = datetime.now(UTC)
    seller = new_id()
    products = {
        "MUG-OLD": (new_id(), 7, 2, "ACTIVE"),
        "PAN-OLD": (new_id(), 0, 0, "INACTIVE"),
        "GONE-OLD": (new_id(), 4, 0, "ARCHIVED"),
    }
    for sku, (product_id, stock, reserved, status) in products.items():
        await run_sql_at(
            url,
            PRODUCT_SQL,
            id=product_id,
            seller=seller,
            sku=sku,
            title=f"Old {sku.lower()}",
            stock=stock,
            reserved=reserved,
            status=status,
            now=now,
        )
    held = str(uuid.uuid4())
    await run_sql_at(
        url,
        "INSERT INTO reservations (id, order_id, status, expires_at, created_at, updated_at)"
        " VALUES (:id, :order, 'HELD', :expires, :now, :now)",
        id=held,
        order=str(uuid.uuid4()),
        expires=now + timedelta(hours=1),
        now=now,
    )
    mug_id = products["MUG-OLD"][0]
    await run_sql_at(url, "INSERT INTO reservation_items VALUES (:r, :p, 2)", r=held, p=mug_id)

    catalog = await start_catalog(service_database_url=url)

    rows = await catalog.sql(
        "SELECT p.sku, v.sku, v.option_values, v.stock, v.reserved, v.status FROM products p"
        " JOIN product_variants v ON v.product_id = p.id ORDER BY p.sku"
    )
    assert [tuple(row) for row in rows] == [
        ("GONE-OLD", "GONE-OLD", {}, 4, 0, "ACTIVE"),
        ("MUG-OLD", "MUG-OLD", {}, 7, 2, "ACTIVE"),
        ("PAN-OLD", "PAN-OLD", {}, 0, 0, "ACTIVE"),
    ]
    mug = (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=mug_id))).product
    (only,) = mug.variants
    assert (mug.stock, only.stock, only.sku, list(mug.options)) == (5, 5, "MUG-OLD", [])
    assert await catalog.sql("SELECT variant_id FROM reservation_items WHERE reservation_id = :r", r=held) == [
        (only.id,)
    ]
    # The old reservation is released whole, and the product is searchable with its new document.
    service = await catalog.service()
    await catalog.stub.ReleaseReservation(catalog_pb2.ReleaseReservationRequest(reservation_id=held), metadata=service)
    mug = (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=mug_id))).product
    assert (mug.stock, mug.variants[0].stock) == (7, 7)
    found = await catalog.stub.SearchProducts(
        catalog_pb2.SearchProductsRequest(query="old mug", mode=catalog_pb2.SEARCH_MODE_LEXICAL)
    )
    assert [hit.product.id for hit in found.hits] == [mug_id]


async def test_the_migration_goes_back_to_one_stock_per_product(fresh_database: Any) -> None:
    url = await _database_at_0002(fresh_database)
    assert DEFINITION.migrations is not None
    product_id = new_id()
    now = datetime.now(UTC)
    await run_sql_at(
        url,
        PRODUCT_SQL,
        id=product_id,
        seller=new_id(),
        sku="CUP",
        title="Cup",
        stock=3,
        reserved=1,
        status="ACTIVE",
        now=now,
    )
    await asyncio.to_thread(upgrade, DEFINITION.migrations, url, "head")
    await asyncio.to_thread(downgrade, DEFINITION.migrations, url, "0002")
    assert await run_sql_at(url, "SELECT sku, stock, reserved FROM products") == [("CUP", 3, 1)]
    await asyncio.to_thread(upgrade, DEFINITION.migrations, url, "head")
    assert await run_sql_at(url, "SELECT sku, stock, reserved FROM product_variants") == [("CUP", 3, 1)]
