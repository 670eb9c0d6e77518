"""SearchProducts' brand and attribute filters through the real service: applied inside the search, in every mode.

The products a filter admits rank below many it does not, so a filter applied to a page the search had already
cut would leave pages short or empty, and end the results early; every page must be full and together they
must hold every admitted product, the same ones ListProducts finds with the same filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.catalog.v1 import catalog_pb2
from tests.catalog.conftest import Catalog
from tests.support.polling import eventually

QUERY = "steel coffee mug"
PAGE_SIZE = 2
# With no filter, this many first hits are all products no filter below admits.
OUTRANKING = 10
MODES = {
    "lexical": catalog_pb2.SEARCH_MODE_LEXICAL,
    "semantic": catalog_pb2.SEARCH_MODE_SEMANTIC,
    "hybrid": catalog_pb2.SEARCH_MODE_HYBRID,
}


@dataclass(frozen=True)
class Made:
    id: str
    brand: str
    attributes: dict[str, str]


async def make_products(catalog: Catalog) -> list[Made]:
    seller, _ = await catalog.seller()
    specs: list[tuple[str, str, str, dict[str, str]]] = []
    # Outranking: every word of the query, twice; neither the brand nor the color the filters ask for.
    for number in range(12):
        title = f"Steel coffee mug {number}"
        specs.append((title, "A double-walled steel coffee mug.", "Brewmaster", {"color": "black"}))
    # Admitted by the filters below: the query's "mug" only, in a title of other words.
    enamel = "An enamel camping mug, light and tough."
    for number, brand in enumerate(["Acme", "ACME", "acme"]):
        specs.append((f"Enamel camping mug {number}", enamel, brand, {"color": "red", "size": "M"}))
    for number in range(2):
        specs.append((f"Tin camping mug {number}", enamel, "Acme", {"color": "blue"}))
    for number in range(2):
        specs.append((f"Clay camping mug {number}", enamel, "Fernwood", {"color": "red"}))
    # Near misses: a longer brand, a longer color, the color under another key.
    specs.append(("Glass camping mug", enamel, "Acme Pro", {"color": "black"}))
    specs.append(("Stone camping mug", enamel, "Fernwood", {"color": "dark red"}))
    specs.append(("Horn camping mug", enamel, "Fernwood", {"colour": "red"}))
    made = []
    for title, description, brand, attributes in specs:
        product = await catalog.create(seller, title=title, description=description, brand=brand, attributes=attributes)
        made.append(Made(product.id, brand, attributes))
    return made


def admitted(product: Made, only: catalog_pb2.ProductFilter) -> bool:
    return (not only.brand or product.brand.lower() == only.brand.lower()) and all(
        product.attributes.get(key) == value for key, value in only.attributes.items()
    )


async def search_page(
    catalog: Catalog, mode: catalog_pb2.SearchMode, only: catalog_pb2.ProductFilter, page_size: int, token: str = ""
) -> catalog_pb2.SearchProductsResponse:
    request = catalog_pb2.SearchProductsRequest(
        query=QUERY, mode=mode, filter=only, page_size=page_size, page_token=token
    )
    response: catalog_pb2.SearchProductsResponse = await catalog.stub.SearchProducts(request)
    return response


async def every_page(catalog: Catalog, mode: catalog_pb2.SearchMode, only: catalog_pb2.ProductFilter) -> list[str]:
    found: list[str] = []
    token = ""
    for _ in range(20):
        page = await search_page(catalog, mode, only, PAGE_SIZE, token)
        found += [hit.product.id for hit in page.hits]
        token = page.next_page_token
        if not token:
            return found
        assert len(page.hits) == PAGE_SIZE, "a page followed by another one must be full"
    raise AssertionError("the pages do not end")


async def every_listed(catalog: Catalog, only: catalog_pb2.ProductFilter) -> list[str]:
    found: list[str] = []
    request = catalog_pb2.ListProductsRequest(filter=only, page_size=50)
    while True:
        page = await catalog.stub.ListProducts(request)
        found += [product.id for product in page.products]
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


FILTERS = {
    "brand": catalog_pb2.ProductFilter(brand="aCmE"),
    "attribute": catalog_pb2.ProductFilter(attributes={"color": "red"}),
    "brand and attributes": catalog_pb2.ProductFilter(brand="acme", attributes={"color": "red", "size": "M"}),
}


@pytest.mark.parametrize("mode", list(MODES.values()), ids=list(MODES))
async def test_brand_and_attribute_filters_page_through_every_admitted_product(
    catalog: Catalog, mode: catalog_pb2.SearchMode
) -> None:
    made = await make_products(catalog)

    # Products are searchable by meaning once their creation event reached the service's vector index.
    async def all_indexed() -> bool:
        page = await search_page(catalog, catalog_pb2.SEARCH_MODE_SEMANTIC, catalog_pb2.ProductFilter(), 100)
        return len(page.hits) == len(made)

    await eventually(all_indexed, timeout=10)

    unfiltered = await search_page(catalog, mode, catalog_pb2.ProductFilter(), OUTRANKING)
    for name, only in FILTERS.items():
        expected = {product.id for product in made if admitted(product, only)}
        assert len(expected) > PAGE_SIZE, name
        # Without the filter, the first hits are all products it rejects: the admitted ones rank below them.
        assert len(unfiltered.hits) == OUTRANKING, name
        assert not expected & {hit.product.id for hit in unfiltered.hits}, name

        found = await every_page(catalog, mode, only)
        assert len(found) == len(set(found)), f"{name}: a product on two pages"
        assert set(found) == expected, name
        assert set(await every_listed(catalog, only)) == expected, f"{name}: ListProducts disagrees"


async def test_a_brand_is_matched_as_list_products_matches_it_in_every_mode(catalog: Catalog) -> None:
    # The database lower-cases "İ" to "i", Python to "i" and a combining dot: the index must compare brands
    # as the SQL filters do, or a semantic search would miss what a lexical search and ListProducts find.
    seller, _ = await catalog.seller()
    bowl = await catalog.create(seller, title="Ceramic bowl", brand="İznik Ceramics")
    await catalog.create(seller, title="Ceramic bowl", brand="Iznik Pottery")
    only = catalog_pb2.ProductFilter(brand="iznik ceramics")

    async def indexed() -> bool:
        page = await search_page(catalog, catalog_pb2.SEARCH_MODE_SEMANTIC, catalog_pb2.ProductFilter(), 10)
        return len(page.hits) == 2

    await eventually(indexed, timeout=10)
    assert await every_listed(catalog, only) == [bowl.id]
    for name, mode in MODES.items():
        request = catalog_pb2.SearchProductsRequest(query="ceramic bowl", mode=mode, filter=only)
        response = await catalog.stub.SearchProducts(request)
        assert [hit.product.id for hit in response.hits] == [bowl.id], name
