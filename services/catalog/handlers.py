"""Catalog use cases: one async function each. Each owns its unit of work; none knows about gRPC."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.catalog import domain
from services.catalog.cache import ProductCache
from services.catalog.domain import Caller, Product, ProductImage, Reservation, ReservationLine
from services.catalog.filters import ProductFilter
from services.catalog.images import EXTENSIONS, MAX_IMAGES_PER_PRODUCT, prepare_image
from services.catalog.search import ProductSearch
from services.catalog.settings import CatalogSettings
from services.catalog.storage import ImageStorage, ImageStorageError, StoredFile
from services.catalog.store import NEWEST, SKU_CONSTRAINT, Products, Reservations, next_page_token
from services.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.kit.ids import new_id
from services.kit.pages import decode_page_token, encode_page_token, invalid_page_token, list_fingerprint
from services.kit.principal import Principal
from services.kit.protos import timestamp
from services.kit.uow import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
# Search results in another order than relevance are sorted among this many best hits.
MAX_SORTED_HITS = 500


def _now() -> datetime:
    return datetime.now(UTC)


class _CatalogUnitOfWork(UnitOfWork):
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
    search: ProductSearch
    images: ImageStorage
    clock: Callable[[], datetime] = field(default=_now)
    # GetProduct's responses of ACTIVE products (see cache.py); any change committed here invalidates them.
    cache: ProductCache[Any] = field(default_factory=ProductCache)

    def uow(self) -> UnitOfWork:
        return _CatalogUnitOfWork(self.sessions, self.cache)

    @property
    def low_stock_threshold(self) -> int:
        return self.settings.catalog_low_stock_threshold


def caller_of(principal: Principal | None) -> Caller:
    if principal is None:
        return Caller(user_id=None)
    if principal.is_service:
        return Caller(user_id=None, is_service=True)
    return Caller(user_id=principal.subject, is_admin=principal.is_admin)


# --- events -------------------------------------------------------------------------------------------------

_EVENT_STATUS = {
    domain.ACTIVE: events_pb2.PRODUCT_STATUS_ACTIVE,
    # Events know a product not visible to buyers as DRAFT.
    domain.INACTIVE: events_pb2.PRODUCT_STATUS_DRAFT,
    domain.ARCHIVED: events_pb2.PRODUCT_STATUS_ARCHIVED,
}
_STOCK_REASONS = {
    domain.ADJUSTMENT: events_pb2.STOCK_CHANGE_REASON_ADJUSTMENT,
    domain.RESERVED: events_pb2.STOCK_CHANGE_REASON_RESERVED,
    domain.RELEASED_STOCK: events_pb2.STOCK_CHANGE_REASON_RELEASED,
    domain.SOLD: events_pb2.STOCK_CHANGE_REASON_SOLD,
}


def _snapshot(product: Product) -> events_pb2.ProductSnapshot:
    return events_pb2.ProductSnapshot(
        id=product.id,
        seller_id=product.seller_id,
        sku=product.sku,
        title=product.title,
        category=product.category,
        brand=product.brand,
        price=money_pb2.Money(currency_code=product.currency, units=product.price_units),
        stock=product.stock,
        status=_EVENT_STATUS[product.status],
        created_at=timestamp(product.created_at),
        updated_at=timestamp(product.updated_at),
    )


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject, payload message) for the outbox."""
    if isinstance(event, domain.ProductCreated):
        return event.product.id, events_pb2.ProductCreated(product=_snapshot(event.product))
    if isinstance(event, domain.ProductUpdated):
        return event.product.id, events_pb2.ProductUpdated(
            product=_snapshot(event.product), changed_fields=event.changed_fields
        )
    if isinstance(event, domain.ProductDeleted):
        return event.product_id, events_pb2.ProductDeleted(
            product_id=event.product_id, seller_id=event.seller_id, sku=event.sku
        )
    if isinstance(event, domain.StockChanged):
        return event.product_id, events_pb2.StockChanged(
            product_id=event.product_id,
            seller_id=event.seller_id,
            old_stock=event.old_stock,
            new_stock=event.new_stock,
            available=event.available,
            low_stock=event.low_stock,
            reason=_STOCK_REASONS[event.reason],
        )
    raise TypeError(f"no payload for {type(event).__name__}")


# --- products -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewProduct:
    sku: str
    title: str
    description: str
    category: str
    brand: str
    attributes: Mapping[str, str]
    price_units: int
    currency: str
    stock: int


def _sku_taken(sku: str) -> AlreadyExists:
    return AlreadyExists("the seller already has a product with this SKU", reason="SKU_TAKEN", metadata={"sku": sku})


async def _embedding(deps: Deps, product: Product) -> bytes:
    text = ProductSearch.document_text(
        product.title, product.description, product.brand, product.category, product.attributes
    )
    return await deps.search.embed_document(text)


async def _require(products: Products, product_id: str, *, for_update: bool = False) -> Product:
    product = await products.get(product_id, for_update=for_update)
    if product is None:
        raise NotFound("product not found", metadata={"product_id": product_id})
    return product


async def create_product(deps: Deps, caller: Caller, new: NewProduct, *, request_id: str = "") -> Product:
    seller_id = caller.user_id
    if seller_id is None:
        raise InvalidArgument("a product needs a seller", violations=[FieldViolation("product", "no seller")])
    if request_id:
        async with deps.sessions() as session:
            earlier = await Products(session).by_request(seller_id, request_id)
        if earlier is not None:
            return earlier
    now = deps.clock()
    product = Product.create(id=new_id(), seller_id=seller_id, now=now, **vars(new))
    embedding = await _embedding(deps, product)
    try:
        async with deps.uow() as uow:
            products = Products(uow.session)
            if await products.sku_taken(seller_id, product.sku):
                raise _sku_taken(product.sku)
            await products.add(uow.track(product), request_id=request_id or None, embedding=embedding)
            await uow.commit()
    except IntegrityError as error:
        # A concurrent twin won the race: the same request (return its product) or the same SKU.
        if SKU_CONSTRAINT in str(error.orig):
            raise _sku_taken(product.sku) from None
        if request_id:
            async with deps.sessions() as session:
                earlier = await Products(session).by_request(seller_id, request_id)
            if earlier is not None:
                return earlier
        raise
    return product


async def get_product(deps: Deps, caller: Caller, product_id: str) -> Product:
    async with deps.sessions() as session:
        product = await _require(Products(session), product_id)
    product.ensure_visible_to(caller)
    return product


async def update_product(deps: Deps, caller: Caller, product_id: str, changes: Mapping[str, Any]) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await _require(products, product_id, for_update=True)
        product.ensure_visible_to(caller)
        product.ensure_can_edit(caller)
        changed = uow.track(product).update(changes, deps.clock())
        if not changed:
            return product
        if "sku" in changed and await products.sku_taken(product.seller_id, product.sku, other_than=product.id):
            raise _sku_taken(product.sku)
        embedding = await _embedding(deps, product) if domain.TEXT_FIELDS.intersection(changed) else None
        await products.save(product, embedding=embedding)
        await uow.commit()
    return product


async def _remove_files(deps: Deps, images: Sequence[ProductImage]) -> None:
    """After the commit: the rows are gone, so a file that cannot be removed is only logged."""
    for image in images:
        for stored in (
            StoredFile(image.content_key, image.url, image.content_file_id),
            StoredFile(image.thumbnail_key, image.thumbnail_url, image.thumbnail_file_id),
        ):
            try:
                await deps.images.delete(stored)
            except Exception:
                log.exception("could not remove a stored image", extra={"fields": {"key": stored.key}})


async def delete_product(deps: Deps, caller: Caller, product_id: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await _require(products, product_id, for_update=True)
        product.ensure_visible_to(caller)
        product.ensure_can_edit(caller)
        removed = list(product.images)
        if uow.track(product).archive(deps.clock()):
            await products.save(product)
        await products.delete_images(product.id)
        product.images = []
        await uow.commit()
    await _remove_files(deps, removed)
    return product


@dataclass(frozen=True)
class Page:
    products: list[Product]
    next_page_token: str


async def list_products(deps: Deps, query: ProductFilter, order: str, page_size: int, page_token: str) -> Page:
    size = page_size or DEFAULT_PAGE_SIZE
    async with deps.sessions() as session:
        found, last = await Products(session).page(query, order, size, page_token)
    return Page(found, next_page_token(query, order, last) if last is not None else "")


async def list_my_products(deps: Deps, caller: Caller, status: str | None, page_size: int, page_token: str) -> Page:
    if caller.user_id is None:
        raise InvalidArgument("only a seller has products", violations=[FieldViolation("status", "no seller")])
    statuses = (status,) if status else domain.LISTABLE_STATUSES
    query = ProductFilter(seller_id=caller.user_id, statuses=statuses)
    return await list_products(deps, query, NEWEST, page_size, page_token)


async def list_categories(deps: Deps) -> list[tuple[str, int]]:
    async with deps.sessions() as session:
        return await Products(session).categories()


async def adjust_stock(deps: Deps, caller: Caller, product_id: str, delta: int, reason: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await _require(products, product_id, for_update=True)
        product.ensure_visible_to(caller)
        product.ensure_can_edit(caller)
        uow.track(product).adjust_stock(delta, deps.clock(), low_stock_threshold=deps.low_stock_threshold)
        await products.save(product)
        await uow.commit()
    log.info("stock adjusted", extra={"fields": {"product_id": product_id, "delta": delta, "reason": reason}})
    return product


# --- images -------------------------------------------------------------------------------------------------


async def add_product_image(
    deps: Deps, caller: Caller, product_id: str, content: bytes
) -> tuple[ProductImage, Product]:
    # Refuse early, before decoding or storing anything; checked again under the row lock below.
    product = await get_product(deps, caller, product_id)
    product.ensure_can_edit(caller)
    product.ensure_can_add_image(MAX_IMAGES_PER_PRODUCT)
    prepared = await asyncio.to_thread(prepare_image, content)
    image_id = new_id()
    base = f"products/{product_id}/{image_id}"
    try:
        stored = await deps.images.put(
            f"{base}{EXTENSIONS[prepared.content_type]}", prepared.content, prepared.content_type
        )
        try:
            thumbnail = await deps.images.put(
                f"{base}-thumb{EXTENSIONS[prepared.thumbnail_content_type]}",
                prepared.thumbnail,
                prepared.thumbnail_content_type,
            )
        except BaseException:
            await deps.images.delete(stored)
            raise
    except ImageStorageError as error:
        # The provider's words (which may name its configuration) stay in the log.
        log.warning("the image store refused an upload", extra={"fields": {"error": str(error)}})
        raise Unavailable("the image store is unavailable; try again later", reason="IMAGE_STORE_UNAVAILABLE") from None
    image = ProductImage(
        id=image_id,
        position=0,
        url=stored.url,
        thumbnail_url=thumbnail.url,
        content_key=stored.key,
        content_file_id=stored.file_id,
        thumbnail_key=thumbnail.key,
        thumbnail_file_id=thumbnail.file_id,
        content_type=prepared.content_type,
        created_at=deps.clock(),
    )
    try:
        async with deps.uow() as uow:
            products = Products(uow.session)
            product = await _require(products, product_id, for_update=True)
            product.ensure_can_edit(caller)
            product.ensure_can_add_image(MAX_IMAGES_PER_PRODUCT)
            image = replace(image, position=max((each.position for each in product.images), default=-1) + 1)
            await products.add_image(product.id, image)
            product.images.append(image)
            uow.track(product).touch(image.created_at)
            product.events.append(domain.ProductUpdated(product, ["images"]))
            await products.save(product)
            await uow.commit()
    except BaseException:
        await _remove_files(deps, [image])
        raise
    return image, product


async def delete_product_image(deps: Deps, caller: Caller, product_id: str, image_id: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await _require(products, product_id, for_update=True)
        product.ensure_visible_to(caller)
        product.ensure_can_edit(caller)
        image = product.image(image_id)
        await products.delete_image(image_id)
        product.images = [each for each in product.images if each.id != image_id]
        uow.track(product).touch(deps.clock())
        product.events.append(domain.ProductUpdated(product, ["images"]))
        await products.save(product)
        await uow.commit()
    await _remove_files(deps, [image])
    return product


# --- search -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float
    matched_fields: list[str]


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    next_page_token: str


_SORT_KEYS: dict[str, tuple[Callable[[Hit], Any], bool]] = {
    "newest": (lambda hit: (hit.product.created_at, hit.product.id), True),
    "price_asc": (lambda hit: (hit.product.price_units, hit.product.id), False),
    "price_desc": (lambda hit: (hit.product.price_units, hit.product.id), True),
    "title": (lambda hit: (hit.product.title, hit.product.id), False),
}


async def search_products(
    deps: Deps, *, text: str, mode: str, query: ProductFilter, order: str, page_size: int, page_token: str
) -> SearchPage:
    """`order` is "relevance" or one of the list orders."""
    size = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("catalog.search", text, mode, query, order)
    position = decode_page_token(page_token, fingerprint, int)
    offset = position[0] if position is not None else 0
    if offset < 0:
        raise invalid_page_token()
    by_relevance = order == "relevance"
    async with deps.sessions() as session:
        if by_relevance:
            found = await deps.search.search(
                session, query=text, mode=mode, filter=query, limit=size + 1, offset=offset
            )
        else:
            found = await deps.search.search(
                session, query=text, mode=mode, filter=query, limit=MAX_SORTED_HITS, offset=0
            )
        products = await Products(session).many([hit.product_id for hit in found])
    hits = [
        Hit(products[hit.product_id], hit.score, list(hit.matched_fields))
        for hit in found
        if hit.product_id in products and products[hit.product_id].status == domain.ACTIVE
    ]
    if not by_relevance:
        key, descending = _SORT_KEYS[order]
        hits = sorted(hits, key=key, reverse=descending)[offset : offset + size + 1]
    more = len(hits) > size
    return SearchPage(hits[:size], encode_page_token(fingerprint, offset + size) if more else "")


# --- reservations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservedItem:
    product_id: str
    quantity: int
    seller_id: str
    sku: str
    title: str
    price_units: int
    currency: str
    image_url: str


@dataclass(frozen=True)
class ReservationResult:
    reservation_id: str
    items: list[ReservedItem]
    expires_at: datetime


async def _reserved_items(session: AsyncSession, lines: Sequence[ReservationLine]) -> list[ReservedItem]:
    products = await Products(session).many([line.product_id for line in lines])
    items = []
    for line in lines:
        product = products[line.product_id]
        items.append(
            ReservedItem(
                product_id=product.id,
                quantity=line.quantity,
                seller_id=product.seller_id,
                sku=product.sku,
                title=product.title,
                price_units=product.price_units,
                currency=product.currency,
                image_url=product.images[0].thumbnail_url if product.images else "",
            )
        )
    return items


async def _existing_reservation(deps: Deps, reservation_id: str, order: Sequence[str]) -> ReservationResult:
    async with deps.sessions() as session:
        reservation = await Reservations(session).get(reservation_id)
        if reservation is None:
            raise NotFound("reservation not found", metadata={"reservation_id": reservation_id})
        rank = {product_id: index for index, product_id in enumerate(order)}
        lines = sorted(reservation.lines, key=lambda line: rank.get(line.product_id, len(rank)))
        return ReservationResult(reservation.id, await _reserved_items(session, lines), reservation.expires_at)


async def reserve_stock(
    deps: Deps,
    *,
    reservation_id: str,
    order_id: str,
    lines: Sequence[ReservationLine],
    ttl: timedelta | None = None,
) -> ReservationResult:
    """All or nothing: every line is held, or nothing changes. A repeat of the same id returns the first result."""
    requested = [line.product_id for line in lines]
    now = deps.clock()
    expires_at = now + (ttl or timedelta(seconds=deps.settings.catalog_reservation_ttl_seconds))
    async with deps.uow() as uow:
        if not await Reservations(uow.session).claim(reservation_id, order_id, expires_at, now):
            await uow.rollback()
            return await _existing_reservation(deps, reservation_id, requested)
        reservation = uow.track(Reservation(reservation_id, order_id, domain.HELD, expires_at, now, now, list(lines)))
        products = Products(uow.session)
        # Always lock products in id order: two reservations sharing products never deadlock.
        for line in sorted(lines, key=lambda line: line.product_id):
            row = await products.reserve(line.product_id, line.quantity, now)
            if row is None:
                raise await _unavailable(products, line)
            reservation.record_stock_change(
                domain.stock_changed(
                    product_id=line.product_id,
                    seller_id=row.seller_id,
                    old_stock=row.stock,
                    new_stock=row.stock,
                    reserved=row.reserved,
                    threshold=deps.low_stock_threshold,
                    reason=domain.RESERVED,
                )
            )
        await Reservations(uow.session).add_lines(reservation_id, lines)
        items = await _reserved_items(uow.session, lines)
        await uow.commit()
    return ReservationResult(reservation_id, items, expires_at)


async def _unavailable(products: Products, line: ReservationLine) -> FailedPrecondition:
    found = await products.availability(line.product_id)
    if found is None or found[0] != domain.ACTIVE:
        return FailedPrecondition(
            "the product cannot be ordered", reason="PRODUCT_UNAVAILABLE", metadata={"product_id": line.product_id}
        )
    return FailedPrecondition(
        "not enough stock",
        reason="OUT_OF_STOCK",
        metadata={"product_id": line.product_id, "available": str(max(found[1], 0))},
    )


async def _settle(uow: UnitOfWork, deps: Deps, reservation: Reservation, *, sold: bool) -> None:
    """Moves a reservation's units out of `reserved`: sold (out of stock too) or returned."""
    products = Products(uow.session)
    now = deps.clock()
    for line in reservation.lines:  # in product id order
        if sold:
            row = await products.sell_reserved(line.product_id, line.quantity, now)
            old_stock = row.stock + line.quantity
        else:
            row = await products.unreserve(line.product_id, line.quantity, now)
            old_stock = row.stock
        reservation.record_stock_change(
            domain.stock_changed(
                product_id=line.product_id,
                seller_id=row.seller_id,
                old_stock=old_stock,
                new_stock=row.stock,
                reserved=row.reserved,
                threshold=deps.low_stock_threshold,
                reason=domain.SOLD if sold else domain.RELEASED_STOCK,
            )
        )
    await Reservations(uow.session).save_status(reservation)


async def commit_in(uow: UnitOfWork, deps: Deps, reservation_id: str) -> None:
    reservation = await Reservations(uow.session).get(reservation_id, for_update=True)
    if reservation is None:
        raise NotFound("reservation not found", metadata={"reservation_id": reservation_id})
    if uow.track(reservation).commit(deps.clock()):
        await _settle(uow, deps, reservation, sold=True)


async def release_in(uow: UnitOfWork, deps: Deps, reservation_id: str, *, expired: bool = False) -> None:
    reservation = await Reservations(uow.session).get(reservation_id, for_update=True)
    if reservation is None:
        return  # releasing an unknown reservation succeeds: nothing is held
    if uow.track(reservation).release(deps.clock(), expired=expired):
        await _settle(uow, deps, reservation, sold=False)


async def commit_reservation(deps: Deps, reservation_id: str) -> None:
    async with deps.uow() as uow:
        await commit_in(uow, deps, reservation_id)
        await uow.commit()


async def release_reservation(deps: Deps, reservation_id: str) -> None:
    async with deps.uow() as uow:
        await release_in(uow, deps, reservation_id)
        await uow.commit()


async def release_expired(deps: Deps) -> int:
    """Releases one batch of HELD reservations past their expiry; returns how many."""
    async with deps.uow() as uow:
        expired = await Reservations(uow.session).lock_expired(
            deps.clock(), deps.settings.catalog_reservation_sweep_batch
        )
        for reservation_id in expired:
            await release_in(uow, deps, reservation_id, expired=True)
        await uow.commit()
    return len(expired)
