"""Product images: AddProductImage and DeleteProductImage, and removing stored files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from services.catalog import domain
from services.catalog.domain import Caller, Product, ProductImage
from services.catalog.handlers.deps import Deps, require_own_product, require_product
from services.catalog.images import EXTENSIONS, MAX_IMAGES_PER_PRODUCT, prepare_image
from services.catalog.storage import ImageStorageError, StoredFile
from services.catalog.store.products import Products
from services.kit.errors import Unavailable
from services.kit.ids import new_id

log = logging.getLogger(__name__)


async def remove_image_files(deps: Deps, images: Sequence[ProductImage]) -> None:
    """After the commit: the rows are gone, so a file that cannot be removed is only logged."""
    for image in images:
        for stored in (
            StoredFile(image.content_key, image.url, image.content_file_id),
            StoredFile(image.thumbnail_key, image.thumbnail_url, image.thumbnail_file_id),
        ):
            try:
                await deps.image_store().delete(stored)
            except Exception:
                log.exception("could not remove a stored image", extra={"fields": {"key": stored.key}})


async def add_product_image(
    deps: Deps, caller: Caller, product_id: str, content: bytes
) -> tuple[ProductImage, Product]:
    # Refuse early, before decoding or storing anything; checked again under the row lock below.
    async with deps.sessions() as session:
        product = await require_product(Products(session), product_id)
    product.ensure_visible_to(caller)
    product.ensure_can_edit(caller)
    product.ensure_can_add_image(MAX_IMAGES_PER_PRODUCT)
    prepared = await asyncio.to_thread(prepare_image, content)
    image_id = new_id()
    base = f"products/{product_id}/{image_id}"
    try:
        stored = await deps.image_store().put(
            f"{base}{EXTENSIONS[prepared.content_type]}", prepared.content, prepared.content_type
        )
        try:
            thumbnail = await deps.image_store().put(
                f"{base}-thumb{EXTENSIONS[prepared.thumbnail_content_type]}",
                prepared.thumbnail,
                prepared.thumbnail_content_type,
            )
        except BaseException:
            await deps.image_store().delete(stored)
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
            product = await require_product(products, product_id, for_update=True)
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
        await remove_image_files(deps, [image])
        raise
    return image, product


async def delete_product_image(deps: Deps, caller: Caller, product_id: str, image_id: str) -> Product:
    async with deps.uow() as uow:
        products = Products(uow.session)
        product = await require_own_product(products, caller, product_id)
        image = product.image(image_id)
        await products.delete_image(image_id)
        product.images = [each for each in product.images if each.id != image_id]
        uow.track(product).touch(deps.clock())
        product.events.append(domain.ProductUpdated(product, ["images"]))
        await products.save(product)
        await uow.commit()
    await remove_image_files(deps, [image])
    return product
