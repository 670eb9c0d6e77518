"""A search page's products, read in the same statement as the page's filter check, are the products GetProduct
answers: every field, their images and their variants in position order."""

from __future__ import annotations

from marketplace.catalog.v1 import catalog_pb2
from tests.catalog.conftest import Catalog
from tests.catalog.test_product_images import add, jpeg_bytes
from tests.support.polling import eventually

MODES = (catalog_pb2.SEARCH_MODE_LEXICAL, catalog_pb2.SEARCH_MODE_SEMANTIC, catalog_pb2.SEARCH_MODE_HYBRID)


async def test_search_hits_carry_the_whole_product_with_images_and_variants(catalog: Catalog) -> None:
    seller, _ = await catalog.seller()
    option = catalog_pb2.ProductOption
    boots = await catalog.create(
        seller,
        title="Waterproof hiking boots",
        description="Leather boots with a waterproof lining.",
        category="shoes",
        brand="Ridge",
        options=[option(name="size", values=["41", "42", "43"])],
        stock=3,
    )
    plain = await catalog.create(seller, title="Hiking socks", description="Wool socks for long hikes.")
    for _ in range(2):
        await catalog.stub.AddProductImage(add(boots.id, jpeg_bytes()), metadata=seller)
    expected = {
        product.id: (await catalog.stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))).product
        for product in (boots, plain)
    }
    assert len(expected[boots.id].images) == 2 and len(expected[boots.id].variants) == 3

    async def hits(mode: catalog_pb2.SearchMode) -> dict[str, catalog_pb2.Product]:
        reply = await catalog.stub.SearchProducts(
            catalog_pb2.SearchProductsRequest(query="hiking boots socks", mode=mode, page_size=50)
        )
        return {hit.product.id: hit.product for hit in reply.hits if hit.product.id in expected}

    found: dict[str, catalog_pb2.Product] = {}
    for mode in MODES:

        async def both_found(
            mode: catalog_pb2.SearchMode = mode, found: dict[str, catalog_pb2.Product] = found
        ) -> bool:
            found.clear()
            found.update(await hits(mode))
            return len(found) == 2

        # The search index follows the products' events; the hits' products are read from the database.
        await eventually(both_found)
        assert found == expected, mode
    by_title = await catalog.stub.SearchProducts(
        catalog_pb2.SearchProductsRequest(
            query="hiking", order_by=catalog_pb2.PRODUCT_ORDER_TITLE, page_size=50, mode=catalog_pb2.SEARCH_MODE_LEXICAL
        )
    )
    assert {hit.product.id: hit.product for hit in by_title.hits if hit.product.id in expected} == expected
