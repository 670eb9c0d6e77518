"""Typo tolerance for search: the words of the active catalog and trigram similarity between words.

PostgreSQL's pg_trgm would do this in SQL, but the embedded PostgreSQL the project runs on by default does not
ship it, so the catalog keeps its own vocabulary in process instead: every word of the title, brand, category,
attribute values and options (names and values, e.g. "navy", "xl") of each active product, counted per product
so an update or a deletion can take words away again, plus an inverted index from trigram to words. A query
word that is not in the vocabulary is replaced by its closest vocabulary words. Similarity is pg_trgm's: the
Jaccard index of the two words' trigram sets, each word padded with two spaces in front and one behind (so
"hedphones" ~ "headphones" is 8/13 ≈ 0.62).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"[a-z0-9]+")
# Similarity at or above which a vocabulary word counts as a correction (pg_trgm's default threshold is 0.3;
# a little stricter keeps unrelated words out of the query).
SIMILARITY_THRESHOLD = 0.4
MAX_CORRECTIONS = 3
# Shorter words have too few trigrams for similarity to mean anything.
MIN_CORRECTABLE_LENGTH = 3


def words_of(text: str) -> list[str]:
    """The lower-case alphanumeric words of `text`, in order."""
    return WORD.findall(text.lower())


def trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def similarity(left: str, right: str) -> float:
    a, b = trigrams(left), trigrams(right)
    return len(a & b) / len(a | b)


class Vocabulary:
    """The words of the active products. Thread-safe; updates and lookups may come from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._words_of_product: dict[str, frozenset[str]] = {}
        self._product_count: Counter[str] = Counter()  # word -> how many products use it
        self._words_with_trigram: dict[str, set[str]] = {}
        self._trigrams_of_word: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._product_count)

    def __contains__(self, word: object) -> bool:
        return word in self._product_count

    def set_product(self, product_id: str, texts: Iterable[str]) -> None:
        """Makes the words of `texts` the product's words (replacing what it had)."""
        words = frozenset(word for text in texts for word in words_of(text))
        with self._lock:
            old = self._words_of_product.get(product_id, frozenset())
            if old == words:
                return
            for word in old - words:
                self._drop_word(word)
            for word in words - old:
                self._add_word(word)
            self._words_of_product[product_id] = words

    def remove_product(self, product_id: str) -> None:
        with self._lock:
            for word in self._words_of_product.pop(product_id, frozenset()):
                self._drop_word(word)

    def corrections(self, word: str) -> list[str]:
        """Up to MAX_CORRECTIONS vocabulary words closest to `word`, best first; none when `word` is known."""
        if len(word) < MIN_CORRECTABLE_LENGTH or word in self._product_count:
            return []
        grams = trigrams(word)
        with self._lock:
            shared: Counter[str] = Counter()
            for gram in grams:
                shared.update(self._words_with_trigram.get(gram, ()))
            scored = []
            for candidate, common in shared.items():
                # Jaccard from the counts: |A ∪ B| = |A| + |B| − |A ∩ B|.
                score = common / (len(grams) + len(self._trigrams_of_word[candidate]) - common)
                if score >= SIMILARITY_THRESHOLD:
                    scored.append((score, candidate))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [candidate for _, candidate in scored[:MAX_CORRECTIONS]]

    def _add_word(self, word: str) -> None:
        self._product_count[word] += 1
        if self._product_count[word] == 1:
            grams = trigrams(word)
            self._trigrams_of_word[word] = grams
            for gram in grams:
                self._words_with_trigram.setdefault(gram, set()).add(word)

    def _drop_word(self, word: str) -> None:
        self._product_count[word] -= 1
        if self._product_count[word] > 0:
            return
        del self._product_count[word]
        for gram in self._trigrams_of_word.pop(word, frozenset()):
            holders = self._words_with_trigram.get(gram)
            if holders is not None:
                holders.discard(word)
                if not holders:
                    del self._words_with_trigram[gram]
