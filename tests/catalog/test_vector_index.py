from dataclasses import replace

import numpy as np
import pytest

from services.catalog.domain import ACTIVE, INACTIVE
from services.catalog.filters import ProductFilter
from services.catalog.vector_index import IndexedProduct, IndexedVariant, VectorIndex


def unit(rng: np.random.Generator, dims: int = 8) -> np.ndarray:
    v = rng.normal(size=dims).astype(np.float32)
    return v / np.linalg.norm(v)


def product(i: int, **overrides) -> IndexedProduct:
    made = IndexedProduct(
        product_id=f"p{i}",
        category=["mugs", "shoes", "books"][i % 3],
        seller_id=f"s{i % 2}",
        price_units=1000 + 100 * i,
        stock=i % 4,
        active=i % 5 != 0,
    )
    return replace(made, **overrides)


@pytest.fixture
def filled():
    rng = np.random.default_rng(1)
    index = VectorIndex(dimensions=8, initial_capacity=4)  # small, so growth is exercised
    vectors = {}
    for i in range(300):
        vectors[f"p{i}"] = unit(rng)
        index.upsert(product(i), vectors[f"p{i}"])
    return index, vectors, rng


def brute_force(index_products, vectors, query, where, limit):
    scored = [(pid, float(vectors[pid] @ query)) for pid, p in index_products.items() if where(p)]
    return sorted(scored, key=lambda s: -s[1])[:limit]


def test_search_matches_brute_force_under_every_filter(filled):
    index, vectors, rng = filled
    products = {f"p{i}": product(i) for i in range(300)}
    query = unit(rng)
    cases = [
        (ProductFilter(), lambda p: p.active),
        (ProductFilter(category="mugs"), lambda p: p.active and p.category == "mugs"),
        (ProductFilter(seller_id="s1", in_stock_only=True), lambda p: p.active and p.seller_id == "s1" and p.stock > 0),
        (
            ProductFilter(min_price_units=5000, max_price_units=12000, statuses=(ACTIVE, INACTIVE)),
            lambda p: 5000 <= p.price_units <= 12000,
        ),
        (ProductFilter(statuses=(INACTIVE,)), lambda p: not p.active),
        (ProductFilter(category="unknown"), lambda p: False),
    ]
    for where, predicate in cases:
        got = index.search(query, 10, where)
        expected = brute_force(products, vectors, query, predicate, 10)
        assert [pid for pid, _ in got] == [pid for pid, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-6)


def test_remove_and_update_keep_rows_consistent(filled):
    index, vectors, _ = filled
    for i in range(0, 300, 2):
        index.remove(f"p{i}")
    index.remove("p0")  # absent: no-op
    assert len(index) == 150
    target = vectors["p7"]
    assert index.search(target, 1, ProductFilter(statuses=(ACTIVE, INACTIVE)))[0][0] == "p7"
    index.update_stock("p7", 0)
    assert "p7" not in [pid for pid, _ in index.search(target, 5, ProductFilter(in_stock_only=True))]
    index.upsert(product(7, category="books", stock=3), None)
    assert index.search(target, 1, ProductFilter(category="books"))[0][0] == "p7"
    # A new product without a vector is kept for its filter fields (the lexical search ranks it) but is never
    # found by meaning.
    index.upsert(product(1000, category="maps"), None)
    assert "p1000" in index
    assert index.search(target, 5, ProductFilter(category="maps")) == []
    with pytest.raises(ValueError):
        index.upsert(product(1001), np.zeros(3, dtype=np.float32))


def admitted(p: IndexedProduct, where: ProductFilter) -> bool:
    """What the filters used below mean; brand and attributes as ListProducts' SQL applies them."""
    return (
        p.active
        and (not where.in_stock_only or p.stock > 0)
        and (where.brand is None or p.brand == where.brand.lower())
        and all(p.attributes.get(key) == value for key, value in where.attributes.items())
    )


BRAND_AND_ATTRIBUTE_FILTERS = [
    ProductFilter(brand="acme"),
    ProductFilter(brand="ACME"),  # the filter's case does not matter
    ProductFilter(brand="acm"),  # exact, not a prefix
    ProductFilter(attributes={"color": "black"}),
    ProductFilter(attributes={"color": "black", "size": "2"}),
    ProductFilter(brand="Brisk", attributes={"color": "white", "size": "1"}),
    ProductFilter(attributes={"material": "steel"}),
    ProductFilter(attributes={"color": "red"}),  # a pair no product holds
    ProductFilter(attributes={"size": "black"}),  # a known value under another key
    ProductFilter(brand="cobalt", attributes={"color": "black"}, in_stock_only=True),
]


def test_brand_and_attribute_filters_follow_updates_and_removals() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(dimensions=8, initial_capacity=4)  # small, so growth is exercised
    products: dict[str, IndexedProduct] = {}
    vectors: dict[str, np.ndarray] = {}

    def put(made: IndexedProduct, vector: np.ndarray | None = None) -> None:
        if vector is not None:
            vectors[made.product_id] = vector
        products[made.product_id] = made
        index.upsert(made, vector)

    def check() -> None:
        query = unit(rng)
        for where in BRAND_AND_ATTRIBUTE_FILTERS:
            got = [pid for pid, _ in index.search(query, 500, where)]
            expected = brute_force(products, vectors, query, lambda p, where=where: admitted(p, where), 500)
            assert got == [pid for pid, _ in expected], where

    # Brands as the catalog hands them over: lower-cased by the database. The first products hold fewer
    # attribute pairs than later ones, so the index widens its attribute slots while rows are already in.
    for i in range(120):
        attributes = {"color": ["black", "white"][i % 2], "size": str(i % 4)}
        if i >= 60 and i % 5 == 0:
            attributes["material"] = "steel"
        put(
            product(i, active=i % 7 != 0, brand=["acme", "brisk", "cobalt"][i % 3], attributes=attributes),
            unit(rng),
        )
    put(product(120, active=True, brand="acme"), unit(rng))  # no attributes at all
    check()

    # Removals move the last row into the hole: its brand and attributes must move with it.
    for product_id in ["p120", *(f"p{i}" for i in range(0, 120, 3))]:
        index.remove(product_id)
        del products[product_id]
    check()

    # Updates without a vector change the filter fields only: brand and pairs, pairs dropped, pairs added.
    put(replace(products["p1"], brand="acme", attributes={"color": "black"}))
    put(replace(products["p2"], attributes={}))
    put(replace(products["p4"], attributes={"color": "white", "size": "1", "material": "steel", "fit": "slim"}))
    check()
    assert "p1" in [pid for pid, _ in index.search(vectors["p1"], 3, ProductFilter(brand="acme"))]
    assert "p1" not in [pid for pid, _ in index.search(vectors["p1"], 500, ProductFilter(attributes={"size": "1"}))]
    assert "p2" not in [pid for pid, _ in index.search(vectors["p2"], 500, ProductFilter(attributes={"size": "2"}))]

    # A product removed and added again (an archived product restored) is filtered by its new fields only.
    index.remove("p5")
    del products["p5"]
    put(product(5, active=True, brand="cobalt", attributes={"color": "black"}), unit(rng))
    check()
    assert [pid for pid, _ in index.search(vectors["p5"], 1, ProductFilter(brand="COBALT"))] == ["p5"]


SIZES = ["s", "m", "l", "xl"]
COLORS = ["navy", "black", "red"]


def variants_of(i: int, rng: np.random.Generator) -> tuple[IndexedVariant, ...]:
    """Sized (and, for every other product, coloured) variants, some sold out; none for every fifth product."""
    if i % 5 == 0:
        return ()
    combinations = [{"size": size} for size in SIZES[: 1 + i % 4]]
    if i % 2:
        combinations = [values | {"color": color} for values in combinations for color in COLORS]
    if i % 7 == 0:
        combinations = [values | {"fit": "slim"} for values in combinations]  # a third option: wider slots
    return tuple(
        IndexedVariant(f"p{i}-v{n}", values, available=int(rng.integers(0, 3))) for n, values in enumerate(combinations)
    )


def offers(p: IndexedProduct, where: ProductFilter) -> bool:
    """What the SQL filter means: one ACTIVE variant takes every value asked for (in stock when asked)."""
    return any(
        all(variant.option_values.get(name) == value.lower() for name, value in where.options.items())
        and (not where.in_stock_only or variant.available > 0)
        for variant in p.variants
    )


OPTION_FILTERS = [
    ProductFilter(options={"size": "m"}),
    ProductFilter(options={"size": "M"}),  # the filter's case does not matter
    ProductFilter(options={"size": "m"}, in_stock_only=True),
    ProductFilter(options={"size": "xl", "color": "navy"}),
    ProductFilter(options={"size": "xl", "color": "Navy"}, in_stock_only=True),  # the same variant, in stock
    ProductFilter(options={"size": "s", "color": "red", "fit": "slim"}, in_stock_only=True),
    ProductFilter(options={"color": "black"}, attributes={"material": "steel"}),
    ProductFilter(options={"size": "xxl"}),  # a value no variant takes
    ProductFilter(options={"size": "navy"}),  # a known value under another option
]


def test_the_options_filter_admits_products_with_one_variant_taking_every_value() -> None:
    rng = np.random.default_rng(4)
    index = VectorIndex(dimensions=8, initial_capacity=4)
    products: dict[str, IndexedProduct] = {}
    vectors: dict[str, np.ndarray] = {}

    def put(made: IndexedProduct, vector: np.ndarray | None = None) -> None:
        if vector is not None:
            vectors[made.product_id] = vector
        products[made.product_id] = made
        index.upsert(made, vector)

    def check() -> None:
        query = unit(rng)
        for where in OPTION_FILTERS:
            got = [pid for pid, _ in index.search(query, 500, where)]
            expected = brute_force(
                products, vectors, query, lambda p, where=where: admitted(p, where) and offers(p, where), 500
            )
            assert got == [pid for pid, _ in expected], where
            assert got or where.options.get("size") in ("xxl", "navy"), where  # not vacuous

    # More variants than the first slots hold: the variants table grows while products are in.
    for i in range(200):
        attributes = {"material": "steel"} if i % 4 == 1 else {}
        put(product(i, stock=5, attributes=attributes, variants=variants_of(i, rng)), unit(rng))
    check()

    # Removals move the last row into the hole: its variants must follow it; freed slots are taken again.
    for product_id in [f"p{i}" for i in range(0, 200, 3)]:
        index.remove(product_id)
        del products[product_id]
    for i in range(200, 240):
        put(product(i, stock=5, variants=variants_of(i, rng)), unit(rng))
    check()

    # Updates replace the variants: fewer, more, none.
    put(replace(products["p1"], variants=variants_of(4, rng)))
    put(replace(products["p2"], variants=()))
    put(replace(products["p4"], variants=variants_of(7, rng)))
    check()

    # A variant's stock follows the events: sold out, then back.
    target = products["p11"]
    sized = next(v for v in target.variants if v.option_values == {"size": "m", "color": "red"})
    where = ProductFilter(options={"size": "M", "color": "red"}, in_stock_only=True)
    for available in (0, 4):
        index.update_stock(target.product_id, 5, variant_id=sized.variant_id, variant_available=available)
        others = [v for v in target.variants if v.variant_id != sized.variant_id]
        put(replace(target, variants=(*others, replace(sized, available=available))))
        found = {pid for pid, _ in index.search(vectors["p11"], 500, where)}
        assert (target.product_id in found) == (available > 0)
    check()


def test_a_variants_stock_event_changes_only_that_variant() -> None:
    index = VectorIndex(dimensions=8, initial_capacity=4)
    rng = np.random.default_rng(6)
    vector = unit(rng)
    variants = (IndexedVariant("m", {"size": "m"}, 2), IndexedVariant("l", {"size": "l"}, 0))
    index.upsert(product(1, stock=2, variants=variants), vector)

    def found(where: ProductFilter) -> bool:
        return bool(index.search(vector, 1, where))

    assert found(ProductFilter(options={"size": "M"}, in_stock_only=True))
    assert not found(ProductFilter(options={"size": "L"}, in_stock_only=True))
    assert found(ProductFilter(options={"size": "L"}))

    index.update_stock("p1", 2, variant_id="m", variant_available=0)
    index.update_stock("p1", 2, variant_id="l", variant_available=2)
    assert not found(ProductFilter(options={"size": "m"}, in_stock_only=True))
    assert found(ProductFilter(options={"size": "l"}, in_stock_only=True))

    index.update_stock("p1", 0)  # the product's total alone: no variant named
    assert not found(ProductFilter(options={"size": "l"}, in_stock_only=True))
    assert found(ProductFilter(options={"size": "l"}))
    index.update_stock("p1", 2, variant_id="unknown", variant_available=9)  # another product's: ignored
    assert found(ProductFilter(options={"size": "l"}, in_stock_only=True))

    index.remove("p1")
    index.upsert(product(2, stock=1), vector)  # no options: never admitted by an options filter
    assert not found(ProductFilter(options={"size": "l"}))
    assert found(ProductFilter())


def test_freed_variant_slots_are_taken_again_beside_new_ones() -> None:
    rng = np.random.default_rng(8)
    index = VectorIndex(dimensions=8, initial_capacity=4)
    vectors = {name: unit(rng) for name in ("p1", "p2", "p3")}

    def sized(i: int, *sizes: str) -> IndexedProduct:
        return product(i, active=True, stock=1, variants=[IndexedVariant(f"p{i}-{s}", {"size": s}, 1) for s in sizes])

    def found(size: str) -> list[str]:
        return sorted(pid for pid, _ in index.search(vectors["p1"], 10, ProductFilter(options={"size": size})))

    index.upsert(sized(1, "s", "m"), vectors["p1"])
    index.upsert(sized(2, "l"), vectors["p2"])
    index.remove("p1")  # two slots freed
    index.upsert(sized(3, "s", "m", "l", "xl", "xxl"), vectors["p3"])  # two taken again, three new
    assert found("s") == ["p3"] and found("l") == ["p2", "p3"] and found("xxl") == ["p3"]
    index.upsert(sized(2, "m"), None)  # its one slot freed and taken again
    assert found("l") == ["p3"] and found("m") == ["p2", "p3"]
    index.update_stock("p3", 1, variant_id="p3-m", variant_available=0)
    in_stock = index.search(vectors["p1"], 10, ProductFilter(options={"size": "m"}, in_stock_only=True))
    assert [pid for pid, _ in in_stock] == ["p2"]


def test_text_scores_are_ranked_through_the_same_filters_with_ties_by_id() -> None:
    index = VectorIndex(dimensions=3)
    for i in range(12):
        index.upsert(product(i), np.ones(3, dtype=np.float32))
        index.set_text_document(f"p{i}", i)
    scores = np.asarray([0, 1, 1, 1, 2, 0, 5, 1, 1, 1, 1, 3], dtype=np.float32)
    ranked = index.rank_text(scores, 4, ProductFilter(statuses=(ACTIVE, INACTIVE)))
    assert ranked == [("p6", 5.0), ("p11", 3.0), ("p4", 2.0), ("p1", 1.0)]
    # The filter applies (only books), and nothing scoring zero is returned.
    books = index.rank_text(scores, 10, ProductFilter(category="books", statuses=(ACTIVE, INACTIVE)))
    assert [pid for pid, _ in books] == ["p11", "p2", "p8"]


def test_hybrid_candidates_are_both_lists_with_both_scores(filled):
    index, vectors, rng = filled
    for i in range(300):
        index.set_text_document(f"p{i}", i)
    document_scores = rng.random(300).astype(np.float32)
    document_scores[::7] = 0.0  # documents the words do not match
    query = unit(rng)
    where = ProductFilter(category="shoes")

    candidates = index.hybrid_candidates(query, document_scores, 10, where)

    by_words = index.rank_text(document_scores, 10, where)
    nearest = index.search(query, 10, where)
    assert [c[0] for c in candidates] == list(dict.fromkeys([pid for pid, _ in by_words + nearest]))
    for product_id, cosine, text, by_meaning in candidates:
        row = int(product_id[1:])
        assert cosine == pytest.approx(float(vectors[product_id] @ query), abs=1e-6)
        assert text == pytest.approx(float(document_scores[row]))
        assert by_meaning == (product_id in {pid for pid, _ in nearest})
        assert product(row).category == "shoes" and product(row).active
    # Without words to rank by, only the nearest, and no text score.
    assert [(c[0], c[2], c[3]) for c in index.hybrid_candidates(query, None, 10, where)] == [
        (pid, 0.0, True) for pid, _ in nearest
    ]
