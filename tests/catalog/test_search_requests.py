"""SearchProducts with requests as shoppers write them, through the real server: long requests, budgets in
words, 500 characters."""

from __future__ import annotations

import grpc
import pytest

from marketplace.catalog.v1 import catalog_pb2
from marketplace.common.v1 import money_pb2
from tests.catalog.conftest import Catalog
from tests.support.polling import eventually

MODES = [catalog_pb2.SEARCH_MODE_LEXICAL, catalog_pb2.SEARCH_MODE_SEMANTIC, catalog_pb2.SEARCH_MODE_HYBRID]


async def _stock(catalog: Catalog) -> dict[str, str]:
    seller, _ = await catalog.seller()
    made = {}
    for title, description, price in [
        ("Insulated steel travel mug", "Keeps coffee hot for six hours; leak-proof lid.", 1800),
        ("Insulated steel travel mug XL", "The big one: keeps coffee hot all day.", 3500),
        ("Ceramic coffee mug", "A plain white mug for the office.", 900),
        ("Waterproof hiking boots", "Leather boots with a grippy sole for wet trails.", 12900),
        ("Trail running shoes", "Light shoes for dry trails.", 8900),
    ]:
        product = await catalog.create(seller, title=title, description=description, price=price)
        made[title] = product.id

    # Searchable once the creation events reached the service's indexes.
    async def all_indexed() -> bool:
        found = await catalog.stub.SearchProducts(
            catalog_pb2.SearchProductsRequest(query="anything", mode=catalog_pb2.SEARCH_MODE_SEMANTIC, page_size=50)
        )
        return len(found.hits) == len(made)

    await eventually(all_indexed, timeout=10)
    return made


@pytest.mark.parametrize("mode", MODES)
async def test_a_long_request_with_a_budget_finds_what_fits(catalog: Catalog, mode: catalog_pb2.SearchMode) -> None:
    made = await _stock(catalog)
    request = (
        "hello, i am looking for an insulated travel mug that keeps my coffee hot on the way to work, "
        "ideally with a lid that does not leak, for less than 25 dollars"
    )
    found = await catalog.stub.SearchProducts(catalog_pb2.SearchProductsRequest(query=request, mode=mode))
    ids = [hit.product.id for hit in found.hits]
    assert ids[0] == made["Insulated steel travel mug"]
    # The budget is a bound: the $35 mug and the boots are out, whatever the mode.
    assert made["Insulated steel travel mug XL"] not in ids
    assert all(hit.product.price.units <= 2500 for hit in found.hits)


async def test_a_budget_in_words_only_narrows_the_caller_s_filter(catalog: Catalog) -> None:
    made = await _stock(catalog)
    wide = catalog_pb2.ProductFilter(max_price=money_pb2.Money(currency_code="USD", units=20000))
    found = await catalog.stub.SearchProducts(
        catalog_pb2.SearchProductsRequest(query="boots or shoes for trails under a hundred dollars", filter=wide)
    )
    ids = [hit.product.id for hit in found.hits]
    assert ids[0] == made["Trail running shoes"] and made["Waterproof hiking boots"] not in ids
    narrow = catalog_pb2.ProductFilter(max_price=money_pb2.Money(currency_code="USD", units=5000))
    found = await catalog.stub.SearchProducts(
        catalog_pb2.SearchProductsRequest(query="trail shoes under 300 dollars", filter=narrow)
    )
    assert made["Trail running shoes"] not in [hit.product.id for hit in found.hits]
    assert all(hit.product.price.units <= 5000 for hit in found.hits)


async def test_requests_up_to_500_characters_are_accepted(catalog: Catalog) -> None:
    await _stock(catalog)
    long_request = ("waterproof hiking boots for wet trails " * 13)[:500]
    found = await catalog.stub.SearchProducts(catalog_pb2.SearchProductsRequest(query=long_request))
    assert found.hits and found.hits[0].product.title == "Waterproof hiking boots"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await catalog.stub.SearchProducts(catalog_pb2.SearchProductsRequest(query="x" * 501))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
