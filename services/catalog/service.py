"""The catalog service's definition: what the kit's server runs."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no type information shipped

from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.events.v1.envelope_pb2 import Envelope
from services.catalog.api import CatalogApi
from services.catalog.cache import ProductCache
from services.catalog.consumers import order_events_consumer
from services.catalog.embeddings import Embedder
from services.catalog.handlers import reservations
from services.catalog.handlers.deps import Deps
from services.catalog.images import MAX_IMAGE_BYTES
from services.catalog.search import ProductSearch
from services.catalog.search_indexes import SearchIndexes
from services.catalog.settings import CatalogSettings
from services.catalog.storage import open_image_backend
from services.catalog.vector_index import VectorIndex
from services.catalog.watch import ProductWatchers
from services.kit.bus import StreamTail
from services.kit.loops import wait_for_stop
from services.kit.outbox import stream_for
from services.kit.protos import Serialized
from services.kit.server import Runtime, ServiceDefinition

# A 5 MB image plus the rest of the request, with room to spare.
MAX_MESSAGE_BYTES = MAX_IMAGE_BYTES + 1024 * 1024


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, CatalogSettings):
        raise TypeError("the catalog service needs CatalogSettings")
    if runtime.engine is None or runtime.sessions is None or runtime.reads is None or runtime.redis is None:
        raise RuntimeError("the catalog service needs its database and Redis")
    sessions, redis = runtime.sessions, runtime.redis
    # The vector search's matrix products on one BLAS thread: a second one only waits for a core that
    # PostgreSQL or the event loop holds (slower searches under load, measured).
    threadpool_limits(limits=1, user_api="blas")
    embedder = await asyncio.to_thread(Embedder, threads=settings.catalog_embed_threads)
    indexes = SearchIndexes(VectorIndex())
    search = ProductSearch(embedder, indexes, lexical_weight=settings.catalog_search_lexical_weight)
    await indexes.load(sessions)
    images = await open_image_backend(settings)
    runtime.on_close(images.close)
    cache: ProductCache[Serialized] = ProductCache(
        max_entries=settings.catalog_product_cache_size, ttl_seconds=settings.catalog_product_cache_ttl_seconds
    )
    deps = Deps(
        settings=settings, sessions=sessions, reads=runtime.reads, search=search, images=images.storage, cache=cache
    )
    # One tail of the catalog's events per process keeps everything in-process fresh, in this order: the
    # product cache first (cheap), the search index, then the watchers (each sees every event; a failing one does
    # not stop the rest). After a gap (start, Redis outage) the cache is cleared: it may have missed events.
    tail = StreamTail(redis, stream_for("catalog"), on_gap=cache.clear)
    watchers = ProductWatchers(sessions, tail.reading, queue_size=settings.catalog_watch_queue_size)
    tail.add_handler(functools.partial(_invalidate_cached, cache))
    tail.add_handler(functools.partial(indexes.apply_event, sessions))
    tail.add_handler(watchers.on_event)

    async def release_expired(stop: asyncio.Event) -> None:
        while not await wait_for_stop(stop, settings.catalog_reservation_sweep_seconds):
            # A full batch means more may be waiting: go again at once.
            while await reservations.release_expired(deps) >= settings.catalog_reservation_sweep_batch:
                pass

    runtime.add_task("catalog-events", tail.run)
    runtime.add_task("reservation-expiry", release_expired)
    runtime.add_task("order-events", order_events_consumer(deps, redis).run)
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogApi(deps, watchers), runtime.server)


async def _invalidate_cached(cache: ProductCache[Any], envelope: Envelope) -> None:
    # Every catalog event is about one product (its subject): created, updated, deleted or its stock changed.
    if envelope.subject:
        cache.invalidate(envelope.subject)


DEFINITION = ServiceDefinition(
    name="catalog",
    settings_type=CatalogSettings,
    grpc_services=[catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
    max_message_bytes=MAX_MESSAGE_BYTES,
)
