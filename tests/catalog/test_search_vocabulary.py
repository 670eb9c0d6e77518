"""The typo-tolerance vocabulary: trigram similarity as pg_trgm computes it, kept per product."""

from __future__ import annotations

import pytest

from services.catalog.vocabulary import Vocabulary, similarity, trigrams


def test_similarity_is_the_jaccard_index_of_padded_trigrams() -> None:
    assert trigrams("cat") == {"  c", " ca", "cat", "at "}
    assert similarity("hedphones", "headphones") == pytest.approx(8 / 13)
    assert similarity("mug", "mug") == 1.0
    assert similarity("mug", "tent") == 0.0


def test_unknown_words_are_corrected_to_the_closest_catalog_words() -> None:
    words = Vocabulary()
    words.set_product("p1", ["Auralite Studio Headphones", "headphones"])
    words.set_product("p2", ["Crema Espresso Machine", "coffee"])

    assert words.corrections("hedphones") == ["headphones"]
    assert words.corrections("expresso") == ["espresso"]
    assert words.corrections("headphones") == []  # a known word is left alone
    assert words.corrections("zz") == []  # too short to judge
    assert words.corrections("quantum") == []  # nothing close enough


def test_words_leave_with_the_last_product_that_uses_them() -> None:
    words = Vocabulary()
    words.set_product("p1", ["Espresso Machine"])
    words.set_product("p2", ["Espresso Grinder"])
    words.remove_product("p1")
    assert "espresso" in words and "machine" not in words
    assert words.corrections("machne") == []

    words.set_product("p2", ["Burr Grinder"])  # an update replaces the product's words
    assert "espresso" not in words and "burr" in words
    assert words.corrections("expresso") == []
    assert len(words) == 2
