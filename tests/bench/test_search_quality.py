"""The relevance benchmark's pieces (bench/search_quality.py, bench/judged_queries.py), without a catalog or any
third-party data: the judged set's rules, the BM25 baseline, the metrics, the goal queries and the WebShop-style
conversion on products made up here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bench import judged_queries
from bench.search_quality import (
    BM25,
    CachedEmbedder,
    ProductLimits,
    Search,
    contract_query_limit,
    cut_words,
    exact_recall,
    goal_query,
    ndcg,
    search_request,
    slug,
    target_metrics,
    webshop_catalog,
)
from marketplace.catalog.v1 import catalog_pb2
from services.catalog.importer import entries_from_document, parse_catalog
from services.kit.errors import InvalidArgument
from services.kit.interceptors import RequestValidator


@pytest.fixture(scope="module")
def demo_items() -> list[judged_queries.Item]:
    return judged_queries.demo_items()


def test_the_judged_set_covers_every_style_with_distinct_queries() -> None:
    queries = judged_queries.QUERIES
    assert len(queries) >= 60
    assert len({query.text for query in queries}) == len(queries)
    assert set(Counter(query.style for query in queries)) == set(judged_queries.STYLES)


def test_every_demo_product_has_a_kind(demo_items: list[judged_queries.Item]) -> None:
    assert all(item.kind for item in demo_items)


def test_every_judged_query_has_several_relevant_products(demo_items: list[judged_queries.Item]) -> None:
    for query in judged_queries.QUERIES:
        grades = Counter(query.judgments(demo_items).values())
        assert grades[2] >= 2, query.text
        assert grades[1] + grades[2] >= 3, query.text


def test_a_budget_is_a_hard_limit(demo_items: list[judged_queries.Item]) -> None:
    query = next(q for q in judged_queries.QUERIES if q.text == "running shoes under a hundred dollars")
    relevant = query.judgments(demo_items)
    by_sku = {item.sku: item for item in demo_items}
    assert relevant and all(by_sku[sku].price <= 100 for sku in relevant)
    assert any(item.kind == "Running Shoe" and item.price > 100 and item.sku not in relevant for item in demo_items)


def test_bm25_ranks_the_exact_title_first_and_applies_the_filter() -> None:
    documents = {
        "A": "Steel water bottle\nkeeps drinks cold",
        "B": "Insulated steel travel mug\nkeeps coffee hot for six hours, a steel lid, a steel base",
        "C": "Ceramic coffee mug\ndishwasher safe",
        "D": "Wool socks\nwarm feet",
    }
    baseline = BM25(documents)
    assert baseline.search("insulated steel travel mug", 10)[0] == "B"
    assert "D" not in baseline.search("insulated steel travel mug", 10)
    assert baseline.search("insulated steel travel mug", 10, lambda sku: sku != "B")[0] != "B"


def test_goal_queries_lose_the_price_clause_and_keep_the_limit() -> None:
    query, price = goal_query("i need a blue lamp for my desk, and price lower than 40.50 dollars", None, 200)
    assert (query, price) == ("i need a blue lamp for my desk", 4050)
    assert goal_query("find me a blue lamp", 30.0, 200) == ("find me a blue lamp", 3000)
    assert goal_query("find me a blue lamp", None, 200) == ("find me a blue lamp", None)
    assert goal_query("a very long instruction", None, 13) == ("a very long", None)
    assert cut_words("short", 10) == "short"


def test_the_query_limit_is_the_contracts() -> None:
    limit = contract_query_limit()
    check = RequestValidator().check
    check(search_request(Search("a" * limit), "hybrid"))
    with pytest.raises(InvalidArgument):
        check(search_request(Search("a" * (limit + 1)), "hybrid"))
    request = search_request(Search("lamp", 4050), "lexical")
    assert request.mode == catalog_pb2.SEARCH_MODE_LEXICAL
    assert (request.filter.max_price.currency_code, request.filter.max_price.units) == ("USD", 4050)


def _made_up(asin: str, options: dict[str, list[str]], **more: object) -> dict[str, object]:
    product: dict[str, object] = {
        "asin": asin,
        "title": f"Trailhead Bottle {asin}",
        "query": "water bottles & flasks",
        "category": "sports",
        "description": "A steel bottle.",
        "bullet_points": ["Keeps drinks cold for a day. ", "Fits a cup holder."],
        "attributes": ["leak proof", "bpa free"],
        "options": options,
        "price": 19.99,
    }
    product.update(more)
    return product


def test_made_up_products_become_import_entries_with_options_or_attributes() -> None:
    many = {"size": [f"{n} oz" for n in range(16)], "color": [f"shade {n}" for n in range(16)]}
    products = [
        _made_up("X1", {"color": ["red", "blue"], "flavor name": ["plain", "mint", "lime"]}),
        _made_up("X2", many),
        _made_up("X3", {"color": ["red", "red"]}),
        _made_up("X4", {}, title="Trailhead " + "very " * 60 + "long bottle"),
    ]
    catalog = webshop_catalog(products, ProductLimits.from_contract())
    entries = {entry["sku"]: entry for entry in catalog.entries}
    assert entries["X1"]["options"] == {"color": ["red", "blue"], "flavor_name": ["plain", "mint", "lime"]}
    assert entries["X1"]["category"] == slug("water bottles & flasks") == "water-bottles-flasks"
    assert entries["X1"]["price_minor"] == 1999 and entries["X1"]["stock"] == 20
    assert entries["X1"]["description"] == "A steel bottle.\nKeeps drinks cold for a day.\nFits a cup holder."
    assert entries["X1"]["attributes"] == {"features": "leak proof,bpa free"}
    assert catalog.folded_too_many == ["X2"] and "options" not in entries["X2"]
    assert entries["X2"]["attributes"]["size"].startswith("0 oz,1 oz")
    assert catalog.folded_refused == ["X3"] and entries["X3"]["attributes"]["color"] == "red,red"
    assert len(entries["X4"]["title"]) <= 200 and entries["X4"]["title"].endswith("very")
    assert catalog.cut == {"title": 1, "description": 0}
    assert "mint" in catalog.documents["X1"] and catalog.prices["X2"] == 1999
    parsed = parse_catalog(entries_from_document({"currency": "USD", "products": catalog.entries}))
    assert not parsed.rejected and len(parsed.entries) == 4


def test_metrics() -> None:
    grades = {"a": 2, "b": 2, "c": 1}
    assert ndcg(["a", "b", "c", "x"], grades) == pytest.approx(1.0)
    worse, better = ndcg(["x", "c", "b", "a"], grades), ndcg(["a", "x", "b", "c"], grades)
    assert worse is not None and better is not None and worse < better < 1.0
    assert ndcg(["a"], {}) is None
    assert exact_recall(["a", "x", "c"], grades) == 0.5
    figures = target_metrics([1, 3, None, 12])
    assert figures["R@1"] == 0.25 and figures["R@10"] == 0.5
    assert figures["MRR@20"] == pytest.approx((1 + 1 / 3 + 1 / 12) / 4)


class CountingModel:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return np.array([[len(text), 1.0] for text in texts], dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed([text])[0]
        return row


def test_the_embedding_cache_embeds_each_text_once(tmp_path: Path) -> None:
    path = tmp_path / "vectors.npz"
    model = CountingModel()
    cached = CachedEmbedder(path, model)
    assert cached.embed(["ab", "abc", "ab"]).tolist() == [[2, 1], [3, 1], [2, 1]]
    cached.save()
    again = CachedEmbedder(path, model)
    assert again.embed(["abc", "abcd"]).tolist() == [[3, 1], [4, 1]]
    assert model.texts == ["ab", "abc", "abcd"]
