from collections import Counter

import yaml

from services.catalog.demo import CATEGORIES, catalog_document, generate


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


def test_document_round_trips_through_yaml():
    document = catalog_document(50)
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
