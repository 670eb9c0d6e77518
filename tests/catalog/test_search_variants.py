"""SearchProducts over products sold in variants, through the real service: option values are searched and
corrected like other words, a product is one hit with the variants that match, and the options filter (with and
without in stock) holds in every mode, as stock and variants change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from marketplace.catalog.v1 import catalog_pb2
from services.catalog import variants
from services.catalog.variants import ProductOption, Variant
from tests.catalog.conftest import Catalog
from tests.support.polling import eventually

MODES = {
    "lexical": catalog_pb2.SEARCH_MODE_LEXICAL,
    "semantic": catalog_pb2.SEARCH_MODE_SEMANTIC,
    "hybrid": catalog_pb2.SEARCH_MODE_HYBRID,
}


@dataclass(frozen=True)
class Shop:
    seller: tuple[tuple[str, str]]
    shoes: catalog_pb2.Product  # size 9, 10, 11, 11.5
    cotton: catalog_pb2.Product  # every size S, M, L in Navy and Black, in stock
    linen: catalog_pb2.Product  # M Navy and M Black sold out, L Navy in stock
    beanie: catalog_pb2.Product  # Charcoal, Mustard
    tote: catalog_pb2.Product  # no options

    @property
    def everything(self) -> list[catalog_pb2.Product]:
        return [self.shoes, self.cotton, self.linen, self.beanie, self.tote]


def variant(sku: str, stock: int, **values: str) -> catalog_pb2.ProductVariant:
    return catalog_pb2.ProductVariant(sku=sku, option_values=values, stock=stock)


def ids_of(product: catalog_pb2.Product, **values: str) -> set[str]:
    """The product's variants taking every one of `values`."""
    return {v.id for v in product.variants if all(v.option_values[name] == value for name, value in values.items())}


async def open_shop(catalog: Catalog) -> Shop:
    seller, _ = await catalog.seller()
    option = catalog_pb2.ProductOption
    shoes = await catalog.create(
        seller,
        title="Trail running shoes",
        description="Light running shoes with a grippy sole for muddy trails.",
        category="shoes",
        brand="Stride",
        attributes={},
        options=[option(name="size", values=["9", "10", "11", "11.5"])],
        variants=[
            variant("RUN-9", 4, size="9"),
            variant("RUN-10", 4, size="10"),
            variant("RUN-11", 3, size="11"),
            variant("RUN-11.5", 2, size="11.5"),
        ],
    )
    cotton = await catalog.create(
        seller,
        title="Cotton t-shirt",
        description="A soft crew-neck t-shirt in organic cotton.",
        category="clothing",
        brand="Loom",
        attributes={},
        options=[option(name="size", values=["S", "M", "L"]), option(name="color", values=["Navy", "Black"])],
        stock=5,  # every combination, each with 5
    )
    linen = await catalog.create(
        seller,
        title="Linen t-shirt",
        description="A breezy t-shirt in washed linen.",
        category="clothing",
        brand="Loom",
        attributes={},
        options=[option(name="size", values=["M", "L"]), option(name="color", values=["Navy", "Black"])],
        variants=[
            variant("LIN-M-NAVY", 0, size="M", color="Navy"),
            variant("LIN-M-BLACK", 0, size="M", color="Black"),
            variant("LIN-L-NAVY", 4, size="L", color="Navy"),
        ],
    )
    beanie = await catalog.create(
        seller,
        title="Wool beanie",
        description="A ribbed beanie in merino wool.",
        category="accessories",
        brand="Loom",
        attributes={},
        options=[option(name="color", values=["Charcoal", "Mustard"])],
        stock=3,
    )
    tote = await catalog.create(
        seller,
        title="Canvas tote bag",
        description="A sturdy tote bag in heavy canvas.",
        category="bags",
        brand="Loom",
        attributes={"color": "natural"},
    )
    shop = Shop(seller, shoes, cotton, linen, beanie, tote)

    # Searchable by meaning once the creation events reached the service's vector index.
    async def all_indexed() -> bool:
        return len(await search(catalog, "anything", catalog_pb2.SEARCH_MODE_SEMANTIC, page_size=50)) == 5

    await eventually(all_indexed, timeout=10)
    return shop


async def search(
    catalog: Catalog, query: str, mode: catalog_pb2.SearchMode, *, page_size: int = 10, **only: Any
) -> list[catalog_pb2.SearchHit]:
    request = catalog_pb2.SearchProductsRequest(
        query=query, mode=mode, filter=catalog_pb2.ProductFilter(**only), page_size=page_size
    )
    response = await catalog.stub.SearchProducts(request)
    hits = list(response.hits)
    ids = [hit.product.id for hit in hits]
    assert len(ids) == len(set(ids)), "a product is one hit, however many of its variants match"
    return hits


def hit_of(hits: list[catalog_pb2.SearchHit], product: catalog_pb2.Product) -> catalog_pb2.SearchHit:
    found = [hit for hit in hits if hit.product.id == product.id]
    assert found, f"{product.title} not found"
    return found[0]


@pytest.mark.parametrize("mode", list(MODES.values()), ids=list(MODES))
async def test_a_search_naming_option_values_finds_the_product_once_with_those_variants(
    catalog: Catalog, mode: catalog_pb2.SearchMode
) -> None:
    shop = await open_shop(catalog)

    shoes = hit_of(await search(catalog, "running shoes size 11", mode), shop.shoes)
    assert set(shoes.matched_variant_ids) == ids_of(shop.shoes, size="11")  # not 11.5

    hits = await search(catalog, "navy t-shirt", mode)
    assert set(hit_of(hits, shop.cotton).matched_variant_ids) == ids_of(shop.cotton, color="Navy")  # every size
    assert set(hit_of(hits, shop.linen).matched_variant_ids) == ids_of(shop.linen, color="Navy")

    hits = await search(catalog, "t-shirt size M in black", mode)
    assert set(hit_of(hits, shop.cotton).matched_variant_ids) == ids_of(shop.cotton, size="M", color="Black")

    # Naming no option value: no variant is singled out.
    hits = await search(catalog, "t-shirt", mode)
    assert hit_of(hits, shop.cotton).matched_variant_ids == []
    assert hit_of(await search(catalog, "tote bag", mode), shop.tote).matched_variant_ids == []


async def test_a_lexical_search_ranks_and_names_the_matched_option_values(catalog: Catalog) -> None:
    shop = await open_shop(catalog)

    hits = await search(catalog, "navy", catalog_pb2.SEARCH_MODE_LEXICAL)
    assert {hit.product.id for hit in hits} == {shop.cotton.id, shop.linen.id}
    assert all(hit.matched_fields == ["options"] for hit in hits)

    # "11.5" names the half size, not size 11.
    hits = await search(catalog, "shoes 11.5", catalog_pb2.SEARCH_MODE_LEXICAL)
    assert [hit.product.id for hit in hits] == [shop.shoes.id]
    assert set(hits[0].matched_variant_ids) == ids_of(shop.shoes, size="11.5")
    assert "options" in hits[0].matched_fields


@pytest.mark.parametrize("mode", list(MODES.values()), ids=list(MODES))
async def test_a_typo_of_an_option_value_is_corrected(catalog: Catalog, mode: catalog_pb2.SearchMode) -> None:
    shop = await open_shop(catalog)

    hits = await search(catalog, "charcol beanie", mode)
    assert hits[0].product.id == shop.beanie.id
    assert set(hits[0].matched_variant_ids) == ids_of(shop.beanie, color="Charcoal")
    if mode != catalog_pb2.SEARCH_MODE_SEMANTIC:
        assert "options" in hits[0].matched_fields

    if mode == catalog_pb2.SEARCH_MODE_LEXICAL:  # "charcol" alone: only its correction matches
        assert [hit.product.id for hit in await search(catalog, "charcol", mode)] == [shop.beanie.id]


async def found_ids(catalog: Catalog, mode: catalog_pb2.SearchMode, query: str = "t-shirt", **only: Any) -> set[str]:
    return {hit.product.id for hit in await search(catalog, query, mode, **only)}


@pytest.mark.parametrize("mode", list(MODES.values()), ids=list(MODES))
async def test_the_options_filter_asks_one_variant_for_every_value_and_stock(
    catalog: Catalog, mode: catalog_pb2.SearchMode
) -> None:
    shop = await open_shop(catalog)
    cotton, linen = shop.cotton.id, shop.linen.id

    assert await found_ids(catalog, mode, options={"size": "M"}) == {cotton, linen}
    # Linen has stock, but not in size M.
    assert await found_ids(catalog, mode, options={"size": "M"}, in_stock=True) == {cotton}
    assert await found_ids(catalog, mode, options={"size": "m", "color": "NAVY"}) == {cotton, linen}
    assert await found_ids(catalog, mode, options={"size": "M", "color": "Navy"}, in_stock=True) == {cotton}
    assert await found_ids(catalog, mode, options={"size": "L", "color": "navy"}, in_stock=True) == {cotton, linen}
    # Linen has an L and a Black, but no L in Black.
    assert await found_ids(catalog, mode, options={"size": "L", "color": "Black"}) == {cotton}
    assert await found_ids(catalog, mode, options={"size": "XL"}) == set()
    assert await found_ids(catalog, mode, "shoes", options={"size": "11"}, in_stock=True) == {shop.shoes.id}
    assert await found_ids(catalog, mode, "tote bag", options={"color": "natural"}) == set()  # an attribute

    # The hits name the variants the filter asks for, only those in stock when stock is asked for.
    hits = await search(catalog, "t-shirt", mode, options={"size": "M"}, in_stock=True)
    assert set(hit_of(hits, shop.cotton).matched_variant_ids) == ids_of(shop.cotton, size="M")
    hits = await search(catalog, "navy t-shirt", mode, options={"size": "L"}, in_stock=True)
    assert set(hit_of(hits, shop.linen).matched_variant_ids) == ids_of(shop.linen, size="L", color="Navy")


@pytest.mark.parametrize("mode", list(MODES.values()), ids=list(MODES))
async def test_the_options_filter_follows_stock_and_variant_changes(
    catalog: Catalog, mode: catalog_pb2.SearchMode
) -> None:
    shop = await open_shop(catalog)
    cotton, linen = shop.cotton.id, shop.linen.id
    in_m: dict[str, Any] = {"options": {"size": "M"}, "in_stock": True}
    assert await found_ids(catalog, mode, **in_m) == {cotton}

    # Linen's M in Navy comes back in stock: the index hears it from the variant's stock event.
    (m_navy,) = ids_of(shop.linen, size="M", color="Navy")
    await catalog.stub.AdjustStock(
        catalog_pb2.AdjustStockRequest(id=linen, delta=2, reason="restock", variant_id=m_navy), metadata=shop.seller
    )

    async def linen_in_m() -> bool:
        return await found_ids(catalog, mode, **in_m) == {cotton, linen}

    await eventually(linen_in_m)

    # It sells out again through a reservation (stock held, not on hand).
    await catalog.stub.ReserveStock(
        catalog_pb2.ReserveStockRequest(
            reservation_id=str(uuid.uuid4()),
            order_id=str(uuid.uuid4()),
            items=[catalog_pb2.ReservationItem(product_id=linen, variant_id=m_navy, quantity=2)],
        ),
        metadata=await catalog.service(),
    )

    async def linen_sold_out_in_m() -> bool:
        return await found_ids(catalog, mode, **in_m) == {cotton}

    await eventually(linen_sold_out_in_m)

    # Cotton's M variants stop selling (INACTIVE): no ACTIVE variant in M is left.
    for variant_id in ids_of(shop.cotton, size="M"):
        await catalog.stub.UpdateProductVariant(
            catalog_pb2.UpdateProductVariantRequest(
                product_id=cotton,
                variant=catalog_pb2.ProductVariant(id=variant_id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
                update_mask=FieldMask(paths=["status"]),
            ),
            metadata=shop.seller,
        )

    async def no_m_is_sold() -> bool:
        return await found_ids(catalog, mode, options={"size": "M"}) == {linen}

    await eventually(no_m_is_sold)


# --- which variants a query names -----------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEE_OPTIONS = variants.options_of([("size", ["S", "M", "L", "XL"]), ("color", ["Navy", "Navy Blue", "Blue", "Black"])])


def tees(inactive: frozenset[str] = frozenset(), sold_out: frozenset[str] = frozenset()) -> list[Variant]:
    """A variant per combination, with id "<size>-<color>", in stock and ACTIVE unless named otherwise."""
    made = []
    for values in variants.combinations(TEE_OPTIONS):
        variant_id = f"{values['size']}-{values['color']}"
        status = variants.INACTIVE if variant_id in inactive else variants.ACTIVE
        stock = 0 if variant_id in sold_out else 1
        made.append(Variant(variant_id, variant_id, values, None, stock, 0, status, NOW, NOW))
    return made


def named(query: str, options: list[ProductOption] = TEE_OPTIONS, **wanted: str) -> set[str]:
    return {v.id for v in variants.matching_variants(options, tees(), query, wanted)}


def test_a_query_names_the_variants_taking_its_values() -> None:
    assert named("navy t-shirt") == {"S-Navy", "M-Navy", "L-Navy", "XL-Navy"}
    assert named("NAVY tee size xl") == {"XL-Navy"}
    assert named("navy or black t-shirt in M") == {"M-Navy", "M-Black"}
    assert named("t-shirt") == set()  # no value named: every variant is as good
    assert named("t-shirt", size="m") == {"M-Navy", "M-Navy Blue", "M-Blue", "M-Black"}
    assert named("navy t-shirt", size="L") == {"L-Navy"}  # the query's colour and the filter's size


def test_a_value_is_named_whole_and_the_longest_value_wins() -> None:
    # "navy blue" names Navy Blue, not Navy nor Blue as well; "blue" alone names Blue.
    assert named("navy blue t-shirt in l") == {"L-Navy Blue"}
    assert named("blue or navy blue tee, size l") == {"L-Blue", "L-Navy Blue"}
    # Letters inside other words name nothing: "men's" is not size S, "I'm" not size M, "slim" not S.
    assert named("men's slim t-shirt i'm after") == set()
    assert named("women’s tee") == set()


def test_decimal_sizes_are_one_value() -> None:
    options = variants.options_of([("size", ["11", "11.5"])])
    shoes = [Variant(size, size, {"size": size}, None, 1, 0, variants.ACTIVE, NOW, NOW) for size in ("11", "11.5")]
    assert [v.id for v in variants.matching_variants(options, shoes, "shoes size 11", {})] == ["11"]
    assert [v.id for v in variants.matching_variants(options, shoes, "shoes size 11.5", {})] == ["11.5"]


def test_only_active_variants_match_and_stock_is_preferred_when_asked_for() -> None:
    made = tees(inactive=frozenset({"M-Navy"}), sold_out=frozenset({"L-Navy"}))

    def found(query: str, *, in_stock_only: bool = False) -> set[str]:
        return {v.id for v in variants.matching_variants(TEE_OPTIONS, made, query, {}, in_stock_only=in_stock_only)}

    assert found("navy tee") == {"S-Navy", "L-Navy", "XL-Navy"}
    assert found("navy tee", in_stock_only=True) == {"S-Navy", "XL-Navy"}
    # None of the named ones in stock: still named (the product is shown for its other variants).
    assert found("navy tee in l", in_stock_only=True) == {"L-Navy"}
