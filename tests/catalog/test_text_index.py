"""The BM25F text index on its own: term weighting, field weights, partial matches, updates and removals."""

from __future__ import annotations

import numpy as np

from services.catalog.text_index import Analyzer, QueryTerm, TextIndex


def terms(index: TextIndex, text: str) -> list[QueryTerm]:
    return [QueryTerm(term, 1.0) for term in index.analyzer.terms(text)]


def ranking(index: TextIndex, text: str) -> list[int]:
    scores = index.score(terms(index, text))
    found = np.flatnonzero(scores > 0)
    return [int(document) for document in found[np.argsort(-scores[found], kind="stable")]]


def doc(title: str, description: str = "", **fields: str) -> dict[str, str]:
    return {"title": title, "description": description, **fields}


def test_words_are_lower_cased_stemmed_and_function_words_dropped() -> None:
    analyzer = Analyzer()
    assert analyzer.terms("I am looking for Running Shoes, 120ml!") == ["run", "shoe", "120", "ml"]
    assert analyzer.terms("size 10.5") == ["size", "10.5"]


def test_a_rare_word_outweighs_a_common_one() -> None:
    index = TextIndex()
    numbers = index.add_many(
        [doc("steel water bottle"), doc("steel cooking pot"), doc("steel kettle"), doc("glass water bottle")]
    )
    # "glass" is rare, "steel" common: the glass bottle first, though both match two words.
    assert ranking(index, "glass steel water bottle")[0] == numbers[3]


def test_partial_matches_are_ranked_not_dropped() -> None:
    index = TextIndex()
    numbers = index.add_many([doc("vegan protein shake", "soy free"), doc("protein bar"), doc("garden hose")])
    found = ranking(index, "gluten free vegan protein shake that is soy free")
    assert found[:2] == [numbers[0], numbers[1]] and numbers[2] not in found


def test_a_word_in_the_title_counts_more_than_in_the_description() -> None:
    index = TextIndex()
    in_description, in_title = index.add_many(
        [doc("travel mug", "pairs well with a thermos flask"), doc("thermos flask", "keeps drinks hot")]
    )
    assert ranking(index, "thermos")[0] == in_title
    assert in_description in ranking(index, "thermos")


def test_option_and_attribute_values_are_searchable() -> None:
    index = TextIndex()
    plain, navy = index.add_many([doc("cotton tee"), doc("cotton tee", options="S M L navy red", attributes="organic")])
    assert ranking(index, "navy tee")[0] == navy
    assert ranking(index, "organic cotton")[0] == navy and plain in ranking(index, "organic cotton")


def test_a_removed_or_replaced_document_is_never_found() -> None:
    index = TextIndex()
    old = index.add(doc("red kettle"))
    index.remove(old)
    new = index.add(doc("blue kettle"))
    assert ranking(index, "kettle") == [new]
    assert ranking(index, "red") == []
    assert len(index) == 1 and index.document_frequency("kettl") == 1


def test_documents_added_one_by_one_score_like_a_bulk_load() -> None:
    texts = [doc(f"item {n} lamp", "warm light" if n % 2 else "cold light") for n in range(200)]
    bulk, single = TextIndex(), TextIndex()
    bulk.add_many(texts)
    for text in texts:
        single.add(text)
    assert ranking(bulk, "warm lamp")[:20] == ranking(single, "warm lamp")[:20]


def test_prefixes_complete_to_the_catalog_s_terms() -> None:
    index = TextIndex()
    index.add_many([doc("wireless headphones"), doc("headband"), doc("head torch")])
    assert index.with_prefix("headph", 5) == ["headphon"]
    assert set(index.with_prefix("head", 5)) == {"head", "headband", "headphon"}
