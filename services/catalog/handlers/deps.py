"""What every catalog use case works with: its dependencies, the caller, and a unit of work that keeps the
GetProduct cache right."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.catalog.cache import ProductCache
from services.catalog.domain import Caller, Product
from services.catalog.handlers.events import event_payload
from services.catalog.search import ProductSearch
from services.catalog.settings import CatalogSettings
from services.catalog.storage import ImageStorage
from services.catalog.store.products import Products
from services.kit.errors import NotFound
from services.kit.principal import Principal
from services.kit.uow import UnitOfWork

DEFAULT_PAGE_SIZE = 20


def _now() -> datetime:
    return datetime.now(UTC)


class CatalogUnitOfWork(UnitOfWork):
    """A unit of work that, once committed, drops the cached copies of the products its events are about."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: ProductCache[Any]) -> None:
        super().__init__(sessions, source="catalog", events=self._payload)
        self._cache = cache
        self._subjects: set[str] = set()

    def _payload(self, event: Any) -> tuple[str, Message]:
        subject, payload = event_payload(event)
        self._subjects.add(subject)
        return subject, payload

    async def commit(self) -> None:
        try:
            await super().commit()
        finally:
            # Right after the commit, with no await in between: a read that loaded the old row cannot store it.
            subjects, self._subjects = self._subjects, set()
            for subject in subjects:
                self._cache.invalidate(subject)


@dataclass
class Deps:
    settings: CatalogSettings
    sessions: async_sessionmaker[AsyncSession]
    # One-statement reads, outside a transaction (`db.read_session_factory`).
    reads: async_sessionmaker[AsyncSession]
    search: ProductSearch
    # None in a process that never stores images (the import command).
    images: ImageStorage | None
    clock: Callable[[], datetime] = field(default=_now)
    # GetProduct's responses of ACTIVE products (see cache.py); any change committed here invalidates them.
    cache: ProductCache[Any] = field(default_factory=ProductCache)

    def image_store(self) -> ImageStorage:
        if self.images is None:
            raise RuntimeError("this process has no image store")
        return self.images

    def uow(self) -> UnitOfWork:
        return CatalogUnitOfWork(self.sessions, self.cache)

    @property
    def low_stock_threshold(self) -> int:
        return self.settings.catalog_low_stock_threshold


def caller_of(principal: Principal | None) -> Caller:
    if principal is None:
        return Caller(user_id=None)
    if principal.is_service:
        return Caller(user_id=None, is_service=True)
    return Caller(user_id=principal.subject, is_admin=principal.is_admin)


async def require_product(products: Products, product_id: str, *, for_update: bool = False) -> Product:
    product = await products.get(product_id, for_update=for_update)
    if product is None:
        raise NotFound("product not found", metadata={"product_id": product_id})
    return product


async def require_own_product(products: Products, caller: Caller, product_id: str) -> Product:
    """The product, locked for a change by its seller (or an admin); as absent to whom may not see it."""
    product = await require_product(products, product_id, for_update=True)
    product.ensure_visible_to(caller)
    product.ensure_can_edit(caller)
    return product
