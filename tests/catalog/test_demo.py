import itertools
from collections import Counter

import yaml

from services.catalog import importer
from services.catalog.demo import CATEGORIES, CLOTHING_SIZES, SHOE_SIZES, catalog_document, generate


def test_demo_catalog_is_large_varied_and_stable():
    products = generate(600)
    assert len(products) == 600
    categories = Counter(p["category"] for p in products)
    assert len(categories) >= 12
    assert min(categories.values()) >= 30
    assert len({p["brand"] for p in products}) >= 40
    assert len({p["sku"] for p in products}) == 600
    assert len({p["title"] for p in products}) == 600
    assert generate(600) == products  # seeded: the same catalog, so an import by SKU is idempotent
    assert generate(600, seed=8) != products


def test_every_product_has_the_import_fields_with_sane_values():
    known = {c.slug for c in CATEGORIES}
    for product in generate(600):
        assert product["category"] in known
        assert 3 <= len(product["title"]) <= 200
        assert product["description"].endswith(".")
        assert 100 <= product["price_minor"] <= 1_000_000
        assert product["stock"] >= 0
        assert product["attributes"]["color"]
    prices = [p["price_minor"] for p in generate(600)]
    assert max(prices) > 20 * min(prices)  # cheap and expensive products both exist
    assert any(p["stock"] == 0 for p in generate(600))


def test_what_comes_in_forms_has_variants_of_its_kind():
    products = generate(600)
    forms = Counter((p["category"], tuple(p.get("options", ())), "variants" in p) for p in products if "options" in p)
    # Shoes by size (listed, each size its own stock), jackets by size and colour (every combination), travel
    # mugs by colour (listed); a jacket whose name another colour already has is a colourway, by size only.
    assert set(forms) <= {
        ("shoes", ("size",), True),
        ("jackets", ("size", "color"), False),
        ("jackets", ("size",), False),
        ("kitchen", ("color",), True),
    }
    assert forms["shoes", ("size",), True] == sum(1 for p in products if p["category"] == "shoes")
    assert forms["jackets", ("size", "color"), False] >= 30 and forms["kitchen", ("color",), True] >= 5
    for product in products:
        options = product.get("options", {})
        if product["category"] == "shoes":
            assert set(options["size"]) <= set(SHOE_SIZES) and len(options["size"]) >= 5
        if product["category"] == "jackets":
            assert set(options["size"]) <= set(CLOTHING_SIZES) and len(options["size"]) >= 3
        if "color" in options:
            # The colour pictured comes first; the title names none.
            assert options["color"][0] == product["attributes"]["color"] and len(options["color"]) >= 2
            assert options["color"][0].title() not in product["title"]
        if product["category"] == "kitchen" and options:
            assert "Travel Mug" in product["title"]
        if "variants" in product:
            variants = product["variants"]
            combinations = [tuple(v["values"][name] for name in options) for v in variants]
            assert len(set(combinations)) == len(combinations) == len(list(itertools.product(*options.values())))
            # The product's stock spread over its variants: a sold-out product is sold out in every form.
            assert sum(v["stock"] for v in variants) == product["stock"]
        if product["category"] not in {"shoes", "jackets", "kitchen"}:
            assert not options
    # A few sizes sold out while others are in stock, as in a shop.
    shoe_stocks = [v["stock"] for p in products if p["category"] == "shoes" and p["stock"] for v in p["variants"]]
    assert 0 in shoe_stocks and max(shoe_stocks) > 10


def test_the_demo_passes_the_importers_checks():
    parsed = importer.parse_catalog(importer.entries_from_document(catalog_document()))
    assert parsed.rejected == [] and len(parsed.entries) == 600
    assert sum(len(entry.variants) for entry in parsed.entries) > 200


def test_document_round_trips_through_yaml():
    document = catalog_document(50)
    assert any("variants" in product for product in document["products"])
    assert yaml.safe_load(yaml.safe_dump(document, sort_keys=False)) == document
    assert document["currency"] == "USD"


def test_demo_command_prints_an_importable_document():
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "services.catalog", "demo", "--products", "20"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert yaml.safe_load(printed) == catalog_document(20)
