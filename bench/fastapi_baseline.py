"""`python -m bench.fastapi_baseline --port P --database-url URL`: GetProduct as a plain FastAPI app.

The comparison point for `bench/edge.py`: what a Python team would write instead of gRPC behind Envoy. One
route, `GET /v1/products/{id}`, reads the product from the catalog's own PostgreSQL database with asyncpg (one
statement: the product's row with its images and variants as arrays) and answers the product as JSON in the
shape REST through Envoy gives (`{"product": {...}}`, camelCase, int64 as strings, enums by name, live
variants only, stock as available = stock - reserved). No cache, no auth: the route is public as GetProduct
is. Served by uvicorn, one worker, uvloop and httptools when installed, HTTP/1.1 on 127.0.0.1. The process
exits by itself when the process that started it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

PRODUCT_SQL = """
SELECT p.id, p.seller_id, p.sku, p.title, p.description, p.category, p.brand, p.attributes, p.options,
       p.price_units, p.currency, p.stock, p.reserved, p.status, p.created_at, p.updated_at,
       ARRAY(SELECT ROW(i.id, i.url, i.thumbnail_url) FROM product_images AS i
             WHERE i.product_id = p.id ORDER BY i.position) AS images,
       ARRAY(SELECT ROW(v.id, v.sku, v.option_values::text, v.price_units, v.stock, v.reserved, v.status)
             FROM product_variants AS v
             WHERE v.product_id = p.id AND v.status <> 'ARCHIVED' ORDER BY v.position) AS variants
FROM products AS p
WHERE p.id = $1
"""
STATUS_NAMES = {
    "ACTIVE": "PRODUCT_STATUS_ACTIVE",
    "INACTIVE": "PRODUCT_STATUS_INACTIVE",
    "ARCHIVED": "PRODUCT_STATUS_ARCHIVED",
}


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as the JSON mapping of google.protobuf.Timestamp prints it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def decode_json(value: Any) -> Any:
    """A jsonb value inside a ROW() is read as text (the statement casts it): the pool's codec decodes jsonb's
    text form, and a record's fields come in binary."""
    return json.loads(value) if isinstance(value, str) else value


def product_json(row: asyncpg.Record) -> dict[str, Any]:
    currency = row["currency"]
    variants = [
        {
            "id": variant_id,
            "sku": sku,
            "optionValues": decode_json(option_values),
            "price": {"currencyCode": currency, "units": str(row["price_units"] if price is None else price)},
            "stock": stock - reserved,
            "status": STATUS_NAMES[status],
        }
        for variant_id, sku, option_values, price, stock, reserved, status in row["variants"]
    ]
    return {
        "id": row["id"],
        "sellerId": row["seller_id"],
        "sku": row["sku"],
        "title": row["title"],
        "description": row["description"],
        "price": {"currencyCode": currency, "units": str(row["price_units"])},
        "category": row["category"],
        "brand": row["brand"],
        "attributes": row["attributes"],
        "stock": row["stock"] - row["reserved"],
        "images": [
            {"id": image_id, "url": url, "thumbnailUrl": thumbnail} for image_id, url, thumbnail in row["images"]
        ],
        "status": STATUS_NAMES[row["status"]],
        "createTime": timestamp(row["created_at"]),
        "updateTime": timestamp(row["updated_at"]),
        "options": [{"name": option["name"], "values": list(option["values"])} for option in row["options"]],
        "variants": variants,
    }


async def _json_codec(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _watch_parent(parent: int) -> None:
    """Ends this process when the one that started it is gone (the benchmark must not leave it running)."""
    while True:
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def create_app(database_url: str, *, parent: int | None = None) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        watcher = asyncio.create_task(_watch_parent(parent)) if parent is not None else None
        pool = await asyncpg.create_pool(database_url, min_size=4, max_size=16, init=_json_codec)
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            await pool.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/v1/products/{product_id}")
    async def get_product(product_id: str) -> Response:
        assert pool is not None
        row = await pool.fetchrow(PRODUCT_SQL, product_id)
        if row is None:
            raise HTTPException(status_code=404, detail="product not found")
        body = json.dumps({"product": product_json(row)}, separators=(",", ":"))
        return Response(content=body, media_type="application/json")

    return app


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes `postgresql://` URLs (not SQLAlchemy's `postgresql+asyncpg://`)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fastapi_baseline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="the catalog's database")
    args = parser.parse_args(argv)
    app = create_app(asyncpg_dsn(args.database_url), parent=os.getppid())
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
