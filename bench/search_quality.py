"""`python -m bench.search_quality`: how well SearchProducts finds what shoppers ask for.

Two judged sets, each imported through the catalog's own import path (the import file format, its checks, and
the import use case: domain, store, unit of work, embeddings) into a fresh catalog database, then searched
through the SearchProducts RPC of the real catalog service (`python -m services.catalog serve`, its own
process) in every mode, beside a plain BM25 baseline computed in this process over the same products:

- WebShop (Yao et al., "WebShop: Towards Scalable Real-World Web Interaction with Grounded Language Agents",
  NeurIPS 2022; the 1,000-product set and its 428 goals, read at run time from --webshop-dir, never copied into
  the repository). Each goal's instruction, without its trailing price clause, is the query and the price
  limit is `filter.max_price`; reported: Recall@1, Recall@10 and MRR@20 of the goal's target product, per goal
  source (human, synthetic).
- The demo catalog (services/catalog/demo.py) with the judged queries of bench/judged_queries.py (graded by
  rules over the products' fields); reported: nDCG@10 and Recall@10 of the grade-2 products, overall and per
  query style.

Prints markdown tables at the end and writes every figure (and each query's ranks) to a JSON file. Starts (or
uses, from DATABASE_URL / REDIS_URL) PostgreSQL and Redis, listens on 127.0.0.1 only, and stops by itself
(`--timeout`). Document embeddings are cached in bench/.cache/ by text, so only the first run pays for them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from bench import judged_queries
from bench.catalog import catalog_environment, process, start_infra
from bench.common import CACHE_DIR, REPO_ROOT, free_port, wait_serving
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2
from services.catalog import demo
from services.catalog.embeddings import MODEL_ID, LazyEmbedder, TextEmbedder, Vectors
from services.catalog.variants import MAX_VARIANTS

DEFAULT_WEBSHOP_DIR = REPO_ROOT.parent / "shared" / "evals" / "webshop"
DEFAULT_OUTPUT = CACHE_DIR / "search-quality.json"
PAGE_SIZE = 20
CURRENCY = "USD"
WEBSHOP_STOCK = 20
# The seller every benchmark product belongs to (searches are public: any id does).
SELLER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "marketplace-mesh:bench:search-quality"))

LEXICAL, SEMANTIC, HYBRID, BM25_BASELINE = "lexical", "semantic", "hybrid", "bm25"
CATALOG_MODES = {
    LEXICAL: catalog_pb2.SEARCH_MODE_LEXICAL,
    SEMANTIC: catalog_pb2.SEARCH_MODE_SEMANTIC,
    HYBRID: catalog_pb2.SEARCH_MODE_HYBRID,
}
SYSTEM_LABELS = {
    LEXICAL: "catalog lexical",
    SEMANTIC: "catalog semantic",
    HYBRID: "catalog hybrid",
    BM25_BASELINE: "BM25 baseline",
}
WEBSHOP, DEMO = "webshop", "demo"

# "…, and price lower than 50.00 dollars" ends every WebShop instruction that has a price limit.
PRICE_CLAUSE = re.compile(r"[\s,]*\band price lower than (\d+(?:\.\d+)?) dollars\W*$", re.IGNORECASE)


# --- the contract's limits ----------------------------------------------------------------------------------


def _string_rules(message: Any, name: str) -> Any:
    from buf.validate import validate_pb2

    return message.DESCRIPTOR.fields_by_name[name].GetOptions().Extensions[validate_pb2.field]


def contract_query_limit() -> int:
    """SearchProductsRequest.query's max_len, as the contract's protovalidate rule says."""
    return int(_string_rules(catalog_pb2.SearchProductsRequest, "query").string.max_len)


@dataclass(frozen=True)
class ProductLimits:
    """What the contract lets a product's text hold (read from its rules, so the benchmark follows them)."""

    title: int
    description: int
    attribute_value: int

    @classmethod
    def from_contract(cls) -> ProductLimits:
        product = catalog_pb2.Product
        return cls(
            title=int(_string_rules(product, "title").string.max_len),
            description=int(_string_rules(product, "description").string.max_len),
            attribute_value=int(_string_rules(product, "attributes").map.values.string.max_len),
        )


def cut_words(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut after a whole word when it is longer."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > 0 else text[:limit]).rstrip(" ,;:-\n")


def joined_within(values: Iterable[str], limit: int) -> str:
    """Values joined with "," (the contract's multi-valued attribute), as many whole values as fit."""
    kept: list[str] = []
    for value in (str(v).strip().replace(",", " ") for v in values):
        if value and len(",".join([*kept, value])) <= limit:
            kept.append(value)
    return ",".join(kept)


def slug(text: str) -> str:
    """A category slug (lower-case words joined by "-") of a phrase: "men's shorts" -> "mens-shorts"."""
    words = re.sub(r"['’]", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:64].strip("-")


def option_name(name: str) -> str:
    """An option name as the contract spells one: "flavor name" -> "flavor_name"."""
    identifier = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return identifier if identifier[:1].isalpha() else f"option_{identifier}"


# --- WebShop ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    goal_id: str
    source: str  # human | synthetic
    query: str
    max_price_minor: int | None
    target: str  # the target product's SKU (its ASIN)
    cut: bool = False  # the query was longer than the limit


def goal_query(instruction: str, price_upper: float | None, limit: int) -> tuple[str, int | None]:
    """The query (the instruction without its price clause, cut to `limit`) and the price limit in minor units
    (the clause's, else the goal's `price_upper`, else none)."""
    match = PRICE_CLAUSE.search(instruction)
    price = float(match[1]) if match else price_upper
    text = instruction[: match.start()] if match else instruction
    return cut_words(text.strip(), limit), None if price is None else round(price * 100)


def load_goals(webshop_dir: Path, query_limit: int) -> list[Goal]:
    goals = []
    for raw in _jsonl(webshop_dir / "goals.jsonl"):
        query, max_price = goal_query(raw["instruction"], raw.get("price_upper"), query_limit)
        whole, _ = goal_query(raw["instruction"], None, sys.maxsize)
        goals.append(Goal(raw["goal_id"], raw["source"], query, max_price, raw["target_asin"], cut=query != whole))
    return goals


def sample_goals(goals: Sequence[Goal], per_source: int | None, seed: int) -> list[Goal]:
    """At most `per_source` goals of each source, drawn with `seed`, in their file order."""
    if per_source is None:
        return list(goals)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for source in sorted({goal.source for goal in goals}):
        ids = [goal.goal_id for goal in goals if goal.source == source]
        chosen.update(rng.sample(ids, min(per_source, len(ids))))
    return [goal for goal in goals if goal.goal_id in chosen]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def webshop_description(raw: Mapping[str, Any]) -> str:
    """The description, then each bullet point on a line of its own."""
    parts = [raw.get("description") or "", *raw.get("bullet_points", ())]
    return "\n".join(part.strip() for part in parts if part.strip())


def webshop_entry(raw: Mapping[str, Any], limits: ProductLimits, *, fold_options: bool) -> dict[str, Any]:
    """One WebShop product in the catalog import format. Its options are real options, or, `fold_options`,
    attributes of the same names (for products the catalog cannot sell in those forms)."""
    description = webshop_description(raw)
    attributes: dict[str, str] = {}
    features = joined_within(raw.get("attributes") or (), limits.attribute_value)
    if features:
        attributes["features"] = features
    options = {
        option_name(name): [str(value).strip() for value in values]
        for name, values in (raw.get("options") or {}).items()
        if values
    }
    entry: dict[str, Any] = {
        "sku": raw["asin"],
        "title": cut_words(raw["title"].strip(), limits.title),
        "description": cut_words(description, limits.description),
        "category": slug(raw.get("query") or "") or slug(raw.get("category") or "") or "other",
        "brand": str(raw.get("brand") or "").strip()[:100],
        "attributes": attributes,
        "price_minor": round(float(raw["price"]) * 100),
        "stock": WEBSHOP_STOCK,
    }
    if options and not fold_options:
        entry["options"] = options
    else:
        for name, values in options.items():
            attributes.setdefault(name, joined_within(values, limits.attribute_value))
    return entry


def combinations(raw: Mapping[str, Any]) -> int:
    return math.prod(len(values) for values in (raw.get("options") or {}).values() if values)


@dataclass
class WebShopCatalog:
    entries: list[dict[str, Any]]
    # The products whose options went into attributes: too many combinations, or values the contract refuses.
    folded_too_many: list[str] = field(default_factory=list)
    folded_refused: list[str] = field(default_factory=list)
    # How many products had a field cut to the contract's length (title, description).
    cut: dict[str, int] = field(default_factory=dict)
    # The baseline's text (full, not cut) and every product's price in minor units.
    documents: dict[str, str] = field(default_factory=dict)
    prices: dict[str, int] = field(default_factory=dict)


def webshop_catalog(raw_products: Sequence[Mapping[str, Any]], limits: ProductLimits) -> WebShopCatalog:
    """The products as import entries; a product whose options the import refuses is tried once more with
    them as attributes (the import's own checks decide, so the contract's rules are not restated here)."""
    from services.catalog.importer import EntryValidator, entries_from_document, parse_catalog

    validator = EntryValidator()
    catalog = WebShopCatalog(entries=[])
    cut: Counter[str] = Counter()
    for raw in raw_products:
        too_many = combinations(raw) > MAX_VARIANTS
        entry = webshop_entry(raw, limits, fold_options=too_many)
        if too_many:
            catalog.folded_too_many.append(raw["asin"])
        elif "options" in entry:
            single = parse_catalog(entries_from_document({"currency": CURRENCY, "products": [entry]}), validator)
            if single.rejected:
                entry = webshop_entry(raw, limits, fold_options=True)
                catalog.folded_refused.append(raw["asin"])
        cut["title"] += entry["title"] != raw["title"].strip()
        cut["description"] += len(entry["description"]) < len(webshop_description(raw))
        catalog.entries.append(entry)
        option_values = [str(value) for values in (raw.get("options") or {}).values() for value in values]
        text = [raw["title"], raw.get("description") or "", *raw["bullet_points"], *option_values]
        catalog.documents[raw["asin"]] = "\n".join(text)
        catalog.prices[raw["asin"]] = entry["price_minor"]
    catalog.cut = dict(cut)
    return catalog


# --- the demo catalog ---------------------------------------------------------------------------------------


def demo_documents(products: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The baseline's text of each demo product: title, description, attribute values and option values."""
    from services.catalog.importer import attribute_text

    documents = {}
    for product in products:
        values = [attribute_text(value) for value in product["attributes"].values()]
        values += [str(value) for option in (product.get("options") or {}).values() for value in option]
        documents[product["sku"]] = "\n".join([product["title"], product["description"], *values])
    return documents


# --- the BM25 baseline --------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 over lower-cased words, with Lucene's non-negative idf: the plain baseline."""

    def __init__(self, documents: Mapping[str, str], k1: float = 0.9, b: float = 0.4) -> None:
        self.ids = list(documents)
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for index, text in enumerate(documents.values()):
            counts = Counter(words(text))
            self.lengths.append(sum(counts.values()))
            for word, count in counts.items():
                self.postings[word].append((index, count))
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        total = len(self.ids)
        self.idf = {w: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for w, p in self.postings.items()}

    def search(self, query: str, limit: int, allowed: Callable[[str], bool] = lambda _: True) -> list[str]:
        """The ids of the best `limit` documents holding a query word and passing `allowed`, best first."""
        scores: dict[int, float] = defaultdict(float)
        for word in words(query):  # a repeated query word counts again, as in the usual formulation
            for index, count in self.postings.get(word, ()):
                norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / self.average)
                scores[index] += self.idf[word] * count * (self.k1 + 1) / (count + norm)
        ranked = sorted((i for i in scores if allowed(self.ids[i])), key=lambda i: (-scores[i], i))
        return [self.ids[i] for i in ranked[:limit]]


# --- metrics ------------------------------------------------------------------------------------------------


def rank_of(target: str, hits: Sequence[str]) -> int | None:
    return hits.index(target) + 1 if target in hits else None


def target_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """Recall@1, Recall@10 and MRR@20 of one target per query (rank None: not in the page)."""
    count = max(len(ranks), 1)
    return {
        "R@1": sum(1 for rank in ranks if rank == 1) / count,
        "R@10": sum(1 for rank in ranks if rank is not None and rank <= 10) / count,
        "MRR@20": sum(1 / rank for rank in ranks if rank is not None and rank <= 20) / count,
        "queries": len(ranks),
    }


def ndcg(hits: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float | None:
    """nDCG@k with gain 2^grade - 1; None when nothing is relevant."""
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(ideal))
    if best == 0:
        return None
    found = sum((2 ** grades.get(sku, 0) - 1) / math.log2(position + 2) for position, sku in enumerate(hits[:k]))
    return float(found / best)


def exact_recall(hits: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float | None:
    """The share of grade-2 products in the first k hits, out of as many as fit (min(k, how many there are))."""
    exact = {sku for sku, grade in grades.items() if grade == 2}
    if not exact:
        return None
    return len(exact & set(hits[:k])) / min(k, len(exact))


def mean(values: Iterable[float | None]) -> float:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else float("nan")


# --- embeddings ---------------------------------------------------------------------------------------------


class CachedEmbedder:
    """The model behind a cache of vectors by text (a digest of the model id and the text), kept in one file: a
    rerun embeds only texts it has not seen (after a change to what a product's search text holds, say)."""

    def __init__(self, path: Path | None, model: TextEmbedder) -> None:
        self._path = path
        self._model = model
        self._vectors: dict[str, Vectors] = {}
        self.embedded = 0
        if path is not None and path.exists():
            with np.load(path) as stored:
                self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        self._stored = len(self._vectors)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(f"{MODEL_ID}\0{text}".encode()).hexdigest()[:32]

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [self._key(text) for text in texts]
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in self._vectors}
        if missing:
            vectors = self._model.embed(list(missing.values()))
            self._vectors.update(zip(missing, vectors, strict=True))
            self.embedded += len(missing)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def embed_one(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector

    def save(self) -> None:
        if self._path is None or len(self._vectors) == self._stored:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        with self._path.open("wb") as file:
            np.savez(file, keys=np.array(keys), vectors=np.stack([self._vectors[key] for key in keys]))
        self._stored = len(keys)


# --- importing ----------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int
    imported: list[str]  # the SKUs now in the catalog
    rejected: list[str]
    skipped: list[str]
    embedded: int
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "imported"}


async def import_document(
    url: str, database_url: str, redis_url: str, document: Mapping[str, Any], embedder: TextEmbedder
) -> ImportReport:
    """The document as the import command reads a file (format and checks), then the import use case for the
    benchmark's seller, in process against the catalog database at `url`."""
    from services.catalog.domain import Caller
    from services.catalog.handlers import catalog_import
    from services.catalog.importer import entries_from_document, import_deps, parse_catalog
    from services.catalog.settings import CatalogSettings
    from services.kit.db import create_engine, session_factory

    started = time.monotonic()
    embedded_before = getattr(embedder, "embedded", 0)
    parsed = await asyncio.to_thread(parse_catalog, entries_from_document(document))
    settings = CatalogSettings(database_url=database_url, redis_url=redis_url, service_database_url=url)
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        deps = import_deps(settings, session_factory(engine), embedder)
        summary = await catalog_import.import_products(deps, Caller(user_id=SELLER_ID), parsed.entries)
    finally:
        await engine.dispose()
    skipped = {entry.sku for entry, _ in summary.skipped}
    return ImportReport(
        created=summary.created,
        imported=[entry.sku for entry in parsed.entries if entry.sku not in skipped],
        rejected=[rejected.describe() for rejected in parsed.rejected],
        skipped=[f"{entry.sku}: {reason}" for entry, reason in summary.skipped],
        embedded=getattr(embedder, "embedded", 0) - embedded_before,
        seconds=time.monotonic() - started,
    )


# --- searching ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    query: str
    max_price_minor: int | None = None


def search_request(search: Search, mode: str) -> catalog_pb2.SearchProductsRequest:
    request = catalog_pb2.SearchProductsRequest(query=search.query, mode=CATALOG_MODES[mode], page_size=PAGE_SIZE)
    if search.max_price_minor is not None:
        request.filter.max_price.CopyFrom(money_pb2.Money(currency_code=CURRENCY, units=search.max_price_minor))
    return request


@dataclass
class Ranked:
    """Each system's hits (SKUs, best first) for every search, in the searches' order."""

    hits: dict[str, list[list[str]]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    # Answers in another mode than asked (SEMANTIC and HYBRID fall back to LEXICAL without a model).
    other_mode: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


async def search_catalog(address: str, searches: Sequence[Search], modes: Sequence[str], ranked: Ranked) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for mode in modes:
            started = time.monotonic()
            pages: list[list[str]] = []
            errors = other_mode = 0
            for search in searches:
                try:
                    reply = await stub.SearchProducts(search_request(search, mode), timeout=30)
                except grpc.aio.AioRpcError as error:
                    errors += 1
                    if errors <= 3:
                        print(f"  {mode} {search.query[:60]!r}: {error.code().name} {error.details()}", flush=True)
                    pages.append([])
                    continue
                other_mode += reply.mode != CATALOG_MODES[mode]
                pages.append([hit.product.sku for hit in reply.hits])
            ranked.hits[mode], ranked.errors[mode], ranked.other_mode[mode] = pages, errors, other_mode
            ranked.seconds[mode] = time.monotonic() - started
            print(f"  {SYSTEM_LABELS[mode]}: {len(searches)} searches in {ranked.seconds[mode]:.0f} s", flush=True)


def search_baseline(
    documents: Mapping[str, str], prices: Mapping[str, int], searches: Sequence[Search], ranked: Ranked
) -> None:
    started = time.monotonic()
    baseline = BM25(documents)

    def priced_within(limit: int | None) -> Callable[[str], bool]:
        return lambda sku: limit is None or prices[sku] <= limit

    pages = [baseline.search(search.query, PAGE_SIZE, priced_within(search.max_price_minor)) for search in searches]
    ranked.hits[BM25_BASELINE] = pages
    ranked.errors[BM25_BASELINE] = ranked.other_mode[BM25_BASELINE] = 0
    ranked.seconds[BM25_BASELINE] = time.monotonic() - started


async def run_set(
    name: str,
    document: Mapping[str, Any],
    searches: Sequence[Search],
    baseline: tuple[Mapping[str, str], Mapping[str, int]],
    modes: Sequence[str],
    infra: tuple[str, str],
    embedder: CachedEmbedder,
) -> tuple[ImportReport, Ranked]:
    """A fresh database with the document imported, the catalog service on it, and every search in every mode."""
    from services.kit.db import drop_database, ensure_database
    from services.kit.migrate import migrate

    database_url, redis_url = infra
    database = f"bench_quality_{name}_{uuid.uuid4().hex[:8]}"
    url = await ensure_database(database_url, database)
    try:
        await migrate(REPO_ROOT / "services" / "catalog" / "migrations", url)
        print(f"{name}: importing {len(document['products'])} products…", flush=True)
        report = await import_document(url, database_url, redis_url, document, embedder)
        embedder.save()
        print(
            f"  created {report.created}, rejected {len(report.rejected)}, skipped {len(report.skipped)}, "
            f"{report.embedded} texts embedded, {report.seconds:.0f} s",
            flush=True,
        )
        for problem in [*report.rejected, *report.skipped][:10]:
            print(f"  not imported: {problem}", flush=True)
        ranked = Ranked()
        # The baseline searches what the catalog holds: an entry the import refused is in neither.
        documents, prices = baseline
        imported = set(report.imported)
        search_baseline({sku: text for sku, text in documents.items() if sku in imported}, prices, searches, ranked)
        port = free_port()
        env = catalog_environment(database_url, redis_url, url, port)
        log = CACHE_DIR / f"search-quality-{name}-service.log"
        with process([sys.executable, "-m", "services.catalog", "serve"], env, log) as child:
            started = time.monotonic()
            await wait_serving("catalog", f"127.0.0.1:{port}", child, log, timeout=300)
            print(f"  catalog serving after {time.monotonic() - started:.0f} s", flush=True)
            await search_catalog(f"127.0.0.1:{port}", searches, modes, ranked)
    finally:
        await drop_database(database_url, database)
    return report, ranked


# --- the report ---------------------------------------------------------------------------------------------


def systems(modes: Sequence[str]) -> list[str]:
    return [*modes, BM25_BASELINE]


def webshop_figures(goals: Sequence[Goal], ranked: Ranked, modes: Sequence[str]) -> dict[str, Any]:
    slices = {source: [i for i, goal in enumerate(goals) if goal.source == source] for source in ("human", "synthetic")}
    slices["all"] = list(range(len(goals)))
    ranks = {
        system: [rank_of(goal.target, hits) for goal, hits in zip(goals, ranked.hits[system], strict=True)]
        for system in systems(modes)
    }
    return {
        "metrics": {
            system: {name: target_metrics([ranks[system][i] for i in members]) for name, members in slices.items()}
            for system in systems(modes)
        },
        "goals": [
            {**asdict(goal), "ranks": {system: ranks[system][i] for system in systems(modes)}}
            for i, goal in enumerate(goals)
        ],
    }


def demo_figures(
    queries: Sequence[judged_queries.JudgedQuery],
    grades: Sequence[dict[str, int]],
    ranked: Ranked,
    modes: Sequence[str],
) -> dict[str, Any]:
    per_query: list[dict[str, Any]] = []
    for index, query in enumerate(queries):
        hits = {system: ranked.hits[system][index] for system in systems(modes)}
        per_query.append(
            {
                "query": query.text,
                "style": query.style,
                "grade_2": sum(1 for grade in grades[index].values() if grade == 2),
                "grade_1": sum(1 for grade in grades[index].values() if grade == 1),
                "ndcg@10": {system: ndcg(hits[system], grades[index]) for system in hits},
                "R@10": {system: exact_recall(hits[system], grades[index]) for system in hits},
                "top10": {system: hits[system][:10] for system in hits},
            }
        )
    slices = {
        "all": per_query,
        **{style: [q for q in per_query if q["style"] == style] for style in judged_queries.STYLES},
    }
    return {
        "metrics": {
            system: {
                name: {
                    "nDCG@10": mean(q["ndcg@10"][system] for q in members),
                    "R@10": mean(q["R@10"][system] for q in members),
                    "queries": len(members),
                }
                for name, members in slices.items()
                if members
            }
            for system in systems(modes)
        },
        "queries": per_query,
    }


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def webshop_table(figures: Mapping[str, Any]) -> str:
    metrics = figures["metrics"]
    first = next(iter(metrics.values()))
    header = ["system"] + [
        f"{name} {metric}" + (f" ({first[name]['queries']})" if metric == "R@1" else "")
        for name in ("human", "synthetic", "all")
        for metric in ("R@1", "R@10", "MRR@20")
    ]
    rows = [
        [SYSTEM_LABELS[system]]
        + [
            f"{by_slice[name][metric]:.3f}"
            for name in ("human", "synthetic", "all")
            for metric in ("R@1", "R@10", "MRR@20")
        ]
        for system, by_slice in metrics.items()
    ]
    return markdown_table(header, rows)


def demo_table(figures: Mapping[str, Any]) -> str:
    metrics = figures["metrics"]
    first = next(iter(metrics.values()))
    styles = [style for style in judged_queries.STYLES if style in first]
    header = [
        "system",
        f"nDCG@10 ({first['all']['queries']})",
        "R@10 grade 2",
        *(f"{style} ({first[style]['queries']})" for style in styles),
    ]
    rows = [
        [SYSTEM_LABELS[system], f"{by_slice['all']['nDCG@10']:.3f}", f"{by_slice['all']['R@10']:.3f}"]
        + [f"{by_slice[style]['nDCG@10']:.3f}" for style in styles]
        for system, by_slice in metrics.items()
    ]
    return markdown_table(header, rows)


def print_webshop_misses(figures: Mapping[str, Any], titles: Mapping[str, str]) -> None:
    """Every goal whose target some system leaves out of its first ten hits."""
    print("\nWebShop goals whose target is not in some system's first 10 (rank per system, '-' = not in 20):")
    for goal in figures["goals"]:
        ranks = goal["ranks"]
        if all(rank is not None and rank <= 10 for rank in ranks.values()):
            continue
        shown = ", ".join(f"{system} {'-' if rank is None else rank}" for system, rank in ranks.items())
        price = "" if goal["max_price_minor"] is None else f" (≤ {goal['max_price_minor'] / 100:.2f})"
        print(
            f"- [{goal['source']}] {goal['query']!r}{price}: {shown}\n    target {titles.get(goal['target'], '')[:90]}"
        )


def print_demo_misses(
    figures: Mapping[str, Any], grades: Sequence[Mapping[str, int]], titles: Mapping[str, str]
) -> None:
    """Every judged query some system answers with nDCG@10 under 0.5, with that system's first five hits."""
    print("\nDemo queries with nDCG@10 < 0.5 in some system (first hits with their grades):")
    for query, judged in zip(figures["queries"], grades, strict=True):
        weak = {system: value for system, value in query["ndcg@10"].items() if value is not None and value < 0.5}
        if not weak:
            continue
        print(f"- [{query['style']}] {query['query']!r} ({query['grade_2']} exact, {query['grade_1']} acceptable)")
        for system, value in weak.items():
            top = "; ".join(f"{judged.get(sku, 0)} {titles.get(sku, sku)}" for sku in query["top10"][system][:5])
            print(f"    {system} {value:.2f}: {top or '(no hit)'}")


# --- the run ------------------------------------------------------------------------------------------------


def git_commit() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
        return described.stdout.strip()
    return ""


async def run(args: argparse.Namespace) -> int:
    query_limit = args.max_query_chars or contract_query_limit()
    modes = list(args.modes)
    sets = list(args.sets)
    limits = ProductLimits.from_contract()
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "commit": git_commit(),
        "command": " ".join(["python -m bench.search_quality", *sys.argv[1:]]),
        "settings": {
            "modes": modes,
            "sets": sets,
            "seed": args.seed,
            "limit_goals": args.limit_goals,
            "max_query_chars": query_limit,
            "page_size": PAGE_SIZE,
            "bm25": {"k1": 0.9, "b": 0.4},
            "cores": os.cpu_count(),
        },
    }
    titles: dict[str, str] = {}
    tables: list[str] = []
    verbose: list[Callable[[], None]] = []
    if WEBSHOP in sets and not (args.webshop_dir / "products.jsonl").exists():
        print(f"no WebShop data in {args.webshop_dir} (--webshop-dir, or --sets demo)", file=sys.stderr)
        return 2
    embedder = CachedEmbedder(
        None if args.no_embedding_cache else CACHE_DIR / f"search-quality-{MODEL_ID}.npz", LazyEmbedder()
    )
    with contextlib.ExitStack() as stack:
        infra = await asyncio.to_thread(start_infra, stack)
        if WEBSHOP in sets:
            raw_products = _jsonl(args.webshop_dir / "products.jsonl")
            titles.update((raw["asin"], raw["title"]) for raw in raw_products)
            catalog = await asyncio.to_thread(webshop_catalog, raw_products, limits)
            goals = sample_goals(load_goals(args.webshop_dir, query_limit), args.limit_goals, args.seed)
            print(
                f"WebShop: {len(catalog.entries)} products ({len(catalog.folded_too_many)} with more than "
                f"{MAX_VARIANTS} option combinations and {len(catalog.folded_refused)} with option values the "
                f"contract refuses: options as attributes), {len(goals)} goals; queries cut at {query_limit} "
                "characters",
                flush=True,
            )
            searches = [Search(goal.query, goal.max_price_minor) for goal in goals]
            document = {"currency": CURRENCY, "products": catalog.entries}
            report, ranked = await run_set(
                WEBSHOP, document, searches, (catalog.documents, catalog.prices), modes, infra, embedder
            )
            figures = webshop_figures(goals, ranked, modes)
            results[WEBSHOP] = {
                "products": len(catalog.entries),
                "options_as_attributes": {
                    "too_many_combinations": len(catalog.folded_too_many),
                    "refused_by_the_contract": len(catalog.folded_refused),
                },
                "cut_to_the_contract": catalog.cut,
                "queries_cut": sum(1 for goal in goals if goal.cut),
                "import": report.summary(),
                "errors": ranked.errors,
                "answered_in_another_mode": ranked.other_mode,
                "search_seconds": ranked.seconds,
                **figures,
            }
            tables.append(f"WebShop ({len(goals)} goals, {len(catalog.entries)} products)\n\n{webshop_table(figures)}")
            verbose.append(functools.partial(print_webshop_misses, figures, titles))
        if DEMO in sets:
            products = demo.generate(600, seed=args.seed)
            titles.update((product["sku"], product["title"]) for product in products)
            items = [judged_queries.item(product) for product in products]
            queries = list(judged_queries.QUERIES)
            grades = [query.judgments(items) for query in queries]
            prices = {product["sku"]: int(product["price_minor"]) for product in products}
            report, ranked = await run_set(
                DEMO,
                demo.catalog_document(600, seed=args.seed),
                [Search(query.text) for query in queries],
                (demo_documents(products), prices),
                modes,
                infra,
                embedder,
            )
            figures = demo_figures(queries, grades, ranked, modes)
            results[DEMO] = {
                "products": len(products),
                "import": report.summary(),
                "errors": ranked.errors,
                "answered_in_another_mode": ranked.other_mode,
                "search_seconds": ranked.seconds,
                **figures,
            }
            tables.append(
                f"Demo catalog, judged queries ({len(queries)} queries, {len(products)} products; "
                f"nDCG@10 per style)\n\n{demo_table(figures)}"
            )
            verbose.append(functools.partial(print_demo_misses, figures, grades, titles))
    results["seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    if args.verbose:
        for show in verbose:
            show()
    for part in (WEBSHOP, DEMO):
        problems = {mode: count for mode, count in results.get(part, {}).get("errors", {}).items() if count}
        if problems:
            print(f"\n{part}: searches that failed (counted as misses): {problems}")
        other = {
            mode: count for mode, count in results.get(part, {}).get("answered_in_another_mode", {}).items() if count
        }
        if other:
            print(f"\n{part}: searches answered in another mode than asked: {other}")
    print(
        f"\n{results['date']}, {results['commit']}, {os.cpu_count()} cores, {results['seconds']:.0f} s; {args.output}"
    )
    for table in tables:
        print(f"\n{table}")
    return 0


def modes_list(text: str) -> list[str]:
    chosen = [mode.strip().lower() for mode in text.split(",") if mode.strip()]
    unknown = [mode for mode in chosen if mode not in CATALOG_MODES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"modes are among {', '.join(CATALOG_MODES)}")
    return chosen


def sets_list(text: str) -> list[str]:
    chosen = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not chosen or any(name not in (WEBSHOP, DEMO) for name in chosen):
        raise argparse.ArgumentTypeError(f"sets are among {WEBSHOP}, {DEMO}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search_quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", type=modes_list, default=list(CATALOG_MODES), help="catalog modes (default: all)")
    parser.add_argument("--sets", type=sets_list, default=[WEBSHOP, DEMO], help="webshop,demo (default: both)")
    parser.add_argument("--webshop-dir", type=Path, default=DEFAULT_WEBSHOP_DIR, help="the WebShop data (read only)")
    parser.add_argument("--limit-goals", type=int, default=None, help="at most this many WebShop goals per source")
    parser.add_argument("--seed", type=int, default=7, help="the demo catalog's seed, and the goals' sample")
    parser.add_argument(
        "--max-query-chars", type=int, default=0, help="cut queries here (default: the contract's limit)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON file of every figure")
    parser.add_argument("--verbose", action="store_true", help="print each query the systems miss")
    parser.add_argument("--no-embedding-cache", action="store_true", help="embed every product again")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args()
    import uvloop

    async def bounded() -> int:
        return await asyncio.wait_for(run(args), timeout=args.timeout)

    try:
        sys.exit(uvloop.run(bounded()))
    except TimeoutError:
        print(f"stopped after --timeout {args.timeout:.0f} s", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
