"""An in-process BM25F index of the products' words, for lexical search.

Why not PostgreSQL's full-text ranking: ts_rank has no inverse document frequency, so a long request ("i need
a gluten free vegan protein shake that is soy free") ranks by how often any of its words occurs, and the
all-words-or-nothing matching it needs to stay fast drops the right product as soon as one word is missing.
BM25F weighs each word by how rare it is and each field by how much it says (a word in the title counts more
than one in the description), and ranks partial matches instead of dropping them.

Documents are numbered as they come (`add` returns the number); a changed product gets a new number and its
old one is dead, skipped by every query (numbers are not reused: the postings of a dead document stay until
the index is rebuilt at the next start). Postings are numpy arrays per term (the bulk `add_many` of the start
builds them in one sort), with the few documents added afterwards in small per-term lists folded into the
arrays when a query reads the term. A query costs one array slice per term and one `bincount`: about a
millisecond for a twenty-word request over 100,000 products.

The score of document d for query terms t: sum of qw(t) * idf(t) * tf'(t, d) * (k1 + 1) / (k1 + tf'(t, d)), with
tf'(t, d) = sum over fields f of w_f * tf_f(t, d) / (1 - b_f + b_f * len_f(d) / avglen_f) (Robertson and
Zaragoza's BM25F). The saturated part is computed when a document is added, with the average field lengths of
that time (they drift little); idf uses the live document frequencies of the query's moment.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import Stemmer

from services.kit.locks import ReadWriteLock

# The fields a product's text is indexed in, with their weight and length normalisation (b). Chosen on the
# relevance benchmarks (bench/search_quality.py, bench/README.md): the title says most, attribute and option
# values (colour, size, material) are short and exact, the description is long and loose.
FIELDS: dict[str, tuple[float, float]] = {
    "title": (3.0, 0.5),
    "brand": (2.0, 0.3),
    "category": (1.5, 0.3),
    "options": (2.0, 0.3),
    "attributes": (2.0, 0.3),
    "description": (1.0, 0.75),
}
FIELD_NAMES = tuple(FIELDS)
K1 = 1.2

# Words that say nothing about a product in a shopper's request (English function words).
_STOPWORD_TEXT = (
    "a about above after again against all am an and any are as at be because been before being below between "
    "both but by can could did do does doing down during each few for from further had has have having he her "
    "here hers herself him himself his how i if in into is it its itself just let me more most my myself no nor "
    "not of off on once only or other ought our ours ourselves out over own same she should so some such than "
    "that the their theirs them themselves then there these they this those through to too under until up very "
    "was we were what when where which while who whom why will with would you your yours yourself yourselves "
    "im ive id ill youre hello hi please thanks thank looking look need want find get buy also like"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Words: letters, or digits with an optional decimal part; "120ml" is "120" and "ml", "10.5" stays whole.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]  # document numbers: 4 bytes a posting


class Analyzer:
    """Text -> index terms: lower-cased words, function words dropped, English stems (Snowball)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()  # the stemmer keeps a cache and is not thread-safe

    def words(self, text: str) -> list[str]:
        return [word for word in _TOKEN.findall(text.casefold()) if word not in STOPWORDS]

    def terms(self, text: str) -> list[str]:
        return self.stems(self.words(text))

    def stems(self, words: Sequence[str]) -> list[str]:
        with self._lock:
            stems: list[str] = self._stemmer.stemWords(words)
        return stems


@dataclass(frozen=True)
class QueryTerm:
    term: str
    weight: float  # 1 for a word of the query; less for a correction or a prefix expansion


class _Postings:
    """One term's documents and saturated weights: a frozen array part and a pending list part."""

    __slots__ = ("docs", "pending_docs", "pending_weights", "weights")

    def __init__(self, docs: IntArray, weights: FloatArray) -> None:
        self.docs = docs
        self.weights = weights
        self.pending_docs: list[int] = []
        self.pending_weights: list[float] = []

    def arrays(self) -> tuple[IntArray, FloatArray]:
        if self.pending_docs:
            # Queries (several at once, under the index's read lock) merge the pending part on first use: one
            # at a time, the pending lists emptied last, so a query seeing them empty sees both arrays merged.
            with _MERGING:
                if self.pending_docs:
                    self.docs = np.concatenate([self.docs, np.asarray(self.pending_docs, dtype=np.int32)])
                    self.weights = np.concatenate([self.weights, np.asarray(self.pending_weights, dtype=np.float32)])
                    self.pending_docs, self.pending_weights = [], []
        return self.docs, self.weights


_MERGING = threading.Lock()


class TextIndex:
    """Thread-safe: queries run side by side in worker threads (a read lock) while events add and remove
    documents (the write lock)."""

    def __init__(self, analyzer: Analyzer | None = None) -> None:
        self.analyzer = analyzer or Analyzer()
        self._lock = ReadWriteLock()
        self._postings: dict[str, _Postings] = {}
        self._alive = np.zeros(1024, dtype=bool)
        self._lengths = np.zeros((1024, len(FIELDS)), dtype=np.float32)
        self._documents = 0  # numbers handed out
        self._live = 0
        self._length_sums = np.zeros(len(FIELDS), dtype=np.float64)
        self._sorted_terms: list[str] | None = None
        field_values = list(FIELDS.values())
        self._weights = np.asarray([weight for weight, _ in field_values], dtype=np.float32)
        self._b = np.asarray([b for _, b in field_values], dtype=np.float32)

    def __len__(self) -> int:
        return self._live

    def __contains__(self, term: object) -> bool:
        return term in self._postings

    @property
    def documents(self) -> int:
        """How many document numbers exist (dead ones included): the length of `score`'s array."""
        return self._documents

    # --- writing ------------------------------------------------------------------------------------------

    def _field_terms(self, fields: Mapping[str, str]) -> list[list[str]]:
        return [self.analyzer.terms(fields.get(name, "")) for name in FIELD_NAMES]

    def add(self, fields: Mapping[str, str]) -> int:
        """Indexes one document (field name -> text) and returns its number."""
        return self.add_many([fields])[0]

    def add_many(self, documents: Sequence[Mapping[str, str]]) -> list[int]:
        """Indexes documents; many at once build their postings in one sort (the start's bulk load)."""
        analyzed = [self._field_terms(fields) for fields in documents]
        with self._lock.write():
            first = self._documents
            count = len(analyzed)
            self._reserve(first + count)
            lengths = np.asarray([[len(terms) for terms in fields] for fields in analyzed], dtype=np.float32)
            lengths = lengths.reshape(count, len(FIELDS))
            self._lengths[first : first + count] = lengths
            self._alive[first : first + count] = True
            self._length_sums += lengths.sum(axis=0)
            self._documents += count
            self._live += count
            averages = np.maximum(self._length_sums / max(self._live, 1), 1.0).astype(np.float32)
            # One row per (document, field, term) occurrence count.
            term_numbers: dict[str, int] = {}
            rows_term: list[int] = []
            rows_doc: list[int] = []
            rows_field: list[int] = []
            rows_tf: list[int] = []
            for offset, fields in enumerate(analyzed):
                for field_number, terms in enumerate(fields):
                    counts: dict[str, int] = {}
                    for term in terms:
                        counts[term] = counts.get(term, 0) + 1
                    for term, tf in counts.items():
                        rows_term.append(term_numbers.setdefault(term, len(term_numbers)))
                        rows_doc.append(first + offset)
                        rows_field.append(field_number)
                        rows_tf.append(tf)
            if not rows_term:
                return list(range(first, first + count))
            term_ids = np.asarray(rows_term, dtype=np.int64)
            docs = np.asarray(rows_doc, dtype=np.int64)
            field_ids = np.asarray(rows_field, dtype=np.int64)
            tfs = np.asarray(rows_tf, dtype=np.float32)
            norm = 1.0 - self._b[field_ids] + self._b[field_ids] * self._lengths[docs, field_ids] / averages[field_ids]
            contribution = self._weights[field_ids] * tfs / norm
            # Sum the fields of each (term, document), then saturate.
            order = np.lexsort((docs, term_ids))
            term_ids, docs, contribution = term_ids[order], docs[order], contribution[order]
            keys = term_ids * (self._documents + 1) + docs
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            tf_prime = np.add.reduceat(contribution, starts)
            saturated = (tf_prime * (K1 + 1) / (K1 + tf_prime)).astype(np.float32)
            term_ids, docs = term_ids[starts], docs[starts]
            term_starts = np.flatnonzero(np.r_[True, term_ids[1:] != term_ids[:-1]])
            term_ends = np.r_[term_starts[1:], term_ids.size]
            names = list(term_numbers)
            for start, end in zip(term_starts.tolist(), term_ends.tolist(), strict=True):
                term = names[int(term_ids[start])]
                postings = self._postings.get(term)
                if postings is None:
                    self._postings[term] = _Postings(docs[start:end].astype(np.int32), saturated[start:end].copy())
                    self._sorted_terms = None
                elif end - start > 64:
                    current_docs, current_weights = postings.arrays()
                    postings.docs = np.concatenate([current_docs, docs[start:end].astype(np.int32)])
                    postings.weights = np.concatenate([current_weights, saturated[start:end]])
                else:
                    postings.pending_docs.extend(docs[start:end].tolist())
                    postings.pending_weights.extend(saturated[start:end].tolist())
            return list(range(first, first + count))

    def remove(self, document: int) -> None:
        """The document no longer counts (no-op for an unknown or dead one)."""
        with self._lock.write():
            if 0 <= document < self._documents and self._alive[document]:
                self._alive[document] = False
                self._live -= 1
                self._length_sums -= self._lengths[document]

    def _reserve(self, size: int) -> None:
        capacity = len(self._alive)
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(self._alive)] = self._alive
        lengths = np.zeros((capacity, len(FIELDS)), dtype=np.float32)
        lengths[: len(self._lengths)] = self._lengths
        self._alive, self._lengths = alive, lengths

    # --- reading ------------------------------------------------------------------------------------------

    def with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Index terms starting with `prefix` (a word still being typed), at most `limit`, shortest first."""
        import bisect

        with self._lock.read():
            if self._sorted_terms is None:
                self._sorted_terms = sorted(self._postings)
            terms = self._sorted_terms
            start = bisect.bisect_left(terms, prefix)
            found = []
            for term in terms[start:]:
                if not term.startswith(prefix):
                    break
                found.append(term)
        return sorted(found, key=len)[:limit]

    def score(self, query: Iterable[QueryTerm]) -> FloatArray:
        """Every document's score (0 for dead documents and those matching no term), by document number."""
        return self.score_and_ideal(query)[0]

    def ideal(self, query: Iterable[QueryTerm]) -> float:
        """The score of a document holding every query term at full saturation: a query's scores divided by it
        say how much of the query a document covers (0 to 1), comparable across queries and with a cosine. A
        term no document holds counts as the rarest there is: no product covers that part of the request."""
        with self._lock.read():
            live = max(self._live, 1)
            total = 0.0
            for term, weight in _best_weights(query).items():
                postings = self._postings.get(term)
                frequency = 0 if postings is None else int(np.count_nonzero(self._alive[postings.arrays()[0]]))
                total += weight * _idf(live, max(frequency, 1)) * (K1 + 1)
        return total

    def score_and_ideal(self, query: Iterable[QueryTerm]) -> tuple[FloatArray, float]:
        """`score` and `ideal` of one query in one pass over its terms' postings (each search needs both)."""
        with self._lock.read():
            size = self._documents
            live = max(self._live, 1)
            all_docs: list[IntArray] = []
            all_weights: list[FloatArray] = []
            total = 0.0
            for term, weight in _best_weights(query).items():
                postings = self._postings.get(term)
                if postings is None:
                    total += weight * _idf(live, 1) * (K1 + 1)
                    continue
                docs, weights = postings.arrays()
                alive = self._alive[docs]
                frequency = int(np.count_nonzero(alive))
                total += weight * _idf(live, max(frequency, 1)) * (K1 + 1)
                if frequency == 0:
                    continue
                all_docs.append(docs[alive])
                all_weights.append(weights[alive] * np.float32(_idf(live, frequency) * weight))
        if not all_docs:
            return np.zeros(size, dtype=np.float32), total
        scores = np.bincount(np.concatenate(all_docs), np.concatenate(all_weights), minlength=size)
        return scores.astype(np.float32), total

    def document_frequency(self, term: str) -> int:
        with self._lock.read():
            postings = self._postings.get(term)
            if postings is None:
                return 0
            docs, _ = postings.arrays()
            return int(np.count_nonzero(self._alive[docs]))


def _best_weights(query: Iterable[QueryTerm]) -> dict[str, float]:
    """Each distinct term of a query with its highest weight (a word and its correction may coincide)."""
    best: dict[str, float] = {}
    for item in query:
        best[item.term] = max(best.get(item.term, 0.0), item.weight)
    return best


def _idf(live: int, frequency: int) -> float:
    return math.log(1.0 + (live - frequency + 0.5) / (frequency + 0.5))
