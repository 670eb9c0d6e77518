"""Every service that exists (services/registry.py), each on a fresh database, with seeded users and data.

The fuzz suite calls every public RPC of every one of them as several callers, and checks that a caller never
receives a victim's private data: the victim is a seller with an address and an inactive product, whose
private markers (email, address lines, inactive product title, tokens) must never appear in what any caller but
an admin or a service receives.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import field_mask_pb2
from google.protobuf.descriptor import MethodDescriptor

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from services import registry
from services.auth.keys import generate_private_pem, key_id
from services.kit.db import drop_database, ensure_database
from services.kit.server import RunningService, ServiceDefinition
from services.kit.settings import ServiceSettings
from services.notify.settings import NotifySettings
from tests.cart.conftest import cart_settings
from tests.catalog.conftest import catalog_settings
from tests.fuzz.strategies import Pools
from tests.order.conftest import order_settings
from tests.payment.conftest import payment_settings
from tests.seller.conftest import seller_settings
from tests.support.auth import PASSWORD, Auth, auth_settings, bearer, service_secret, service_token
from tests.support.serving import migrate_service, serving, settings_under_test

Metadata = tuple[tuple[str, str | bytes], ...]


def served_methods() -> list[tuple[str, MethodDescriptor]]:
    """(service name, method) for every RPC of every gRPC service of every service that exists."""
    found: list[tuple[str, MethodDescriptor]] = []
    for name in registry.available():
        for service in registry.definition(name).grpc_services:
            found.extend((name, method) for method in service.methods)
    return found


@dataclass
class Served:
    definition: ServiceDefinition
    running: RunningService
    channel: grpc.aio.Channel


@dataclass
class Mesh:
    services: dict[str, Served]
    callers: dict[str, Metadata]  # name -> call metadata
    trusted: frozenset[str]  # callers allowed to see other users' data (admin, service)
    private: list[bytes]  # the victim's private markers
    pools: Pools
    victim: Metadata = ()
    victim_state: dict[str, Any] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)  # caller -> username, to sign in again

    async def sign_in_again(self, caller: str) -> None:
        """A new session for `caller`, whose own calls may end theirs (Logout ends the caller's session)."""
        auth = auth_pb2_grpc.AuthServiceStub(self.services["auth"].channel)
        login = await auth.Login(auth_pb2.LoginRequest(login=self.logins[caller], password=PASSWORD), timeout=10)
        self.callers[caller] = bearer(login.tokens.access_token)


def _settings_for(
    name: str,
    definition: ServiceDefinition,
    infra: Any,
    url: str,
    auth_target: str,
    root: Path,
    signing_pem: str,
    started: dict[str, Served],
) -> ServiceSettings:
    """The test settings of a service: the known services' own test settings, the common ones for any other
    (`started`: the services already running, which it may call)."""
    if name == "auth":
        return auth_settings(infra.database_url, infra.redis_url, url, auth_signing_key_pem=signing_pem)
    if name == "catalog":
        return catalog_settings(
            infra.database_url, infra.redis_url, url, auth_target, catalog_image_dir=root / "catalog-images"
        )
    if name == "cart":
        return cart_settings(infra.database_url, infra.redis_url, url, auth_target, started["catalog"].running.address)
    if name == "order":
        return order_settings(
            infra.database_url,
            infra.redis_url,
            url,
            auth_target,
            started["catalog"].running.address,
            started["cart"].running.address,
        )
    if name == "payment":
        return payment_settings(infra.database_url, infra.redis_url, url, auth_target, started["order"].running.address)
    if name == "seller":
        return seller_settings(infra.database_url, infra.redis_url, url, auth_target)
    if name == "notify":
        # No worker runs here: the records the seeding makes stay queued, and no SMTP server is needed.
        return settings_under_test(
            NotifySettings,
            infra.database_url,
            infra.redis_url,
            url,
            auth_target=auth_target,
            service_client_secret=service_secret("notify"),
            notify_events_group=f"notify-fuzz-{uuid.uuid4().hex[:8]}",
            notify_queue_name=f"notify:fuzz:{uuid.uuid4().hex[:8]}",
        )
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "redis_url": infra.redis_url,
        "service_database_url": url,
        "port": 0,
        "auth_target": auth_target,
        "service_client_secret": service_secret(name),
        "drain_grace_seconds": 0.5,
        "log_format": "text",
        "log_level": "WARNING",
    }
    return definition.settings_type(**values)


def _channel_options(definition: ServiceDefinition) -> list[tuple[str, Any]]:
    if definition.max_message_bytes is None:
        return []
    return [
        ("grpc.max_send_message_length", definition.max_message_bytes),
        ("grpc.max_receive_message_length", definition.max_message_bytes),
    ]


def _token(key: rsa.RSAPrivateKey | str, kid: str, settings: ServiceSettings, **claims: Any) -> str:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
        "typ": "user",
    }
    values.update(claims)
    return jwt.encode(values, key, algorithm="RS256", headers={"kid": kid})  # type: ignore[arg-type]


async def _eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="package")
async def mesh(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mesh]:
    root = tmp_path_factory.mktemp("fuzz")
    signing_pem = generate_private_pem()
    databases: list[str] = []
    async with AsyncExitStack() as stack:
        services: dict[str, Served] = {}
        auth_target = ""
        for name in registry.available():  # start order: auth first
            definition = registry.definition(name)
            database = f"t_fuzz_{name}_{uuid.uuid4().hex[:10]}"
            databases.append(database)
            url = await ensure_database(infra.database_url, database)
            await migrate_service(definition, url)
            settings = _settings_for(name, definition, infra, url, auth_target, root, signing_pem, services)
            running, channel = await stack.enter_async_context(
                serving(definition, settings, channel_options=_channel_options(definition))
            )
            services[name] = Served(definition, running, channel)
            if name == "auth":
                auth_target = running.address
        try:
            yield await _seed(services, signing_pem)
        finally:
            await stack.aclose()
            for database in databases:
                await drop_database(infra.database_url, database)


async def _seed(services: dict[str, Served], signing_pem: str) -> Mesh:
    """Users of every kind, each with data of their own, a victim with private data, and the callers."""
    auth_served = services["auth"]
    auth_settings_: Any = auth_served.running.runtime.settings
    auth = Auth(
        auth_served.running, auth_served.channel, auth_pb2_grpc.AuthServiceStub(auth_served.channel), auth_settings_
    )
    pools = Pools()
    buyer_user, buyer_name = await auth.register()
    seller_user, seller_name = await auth.register(role=roles_pb2.ROLE_SELLER, store_name="Seller's store")
    admin_user, admin_name = await auth.register()
    await auth.sql("UPDATE users SET role = 'admin' WHERE id = :id", id=admin_user.user.id)
    admin_login = await auth.stub.Login(auth_pb2.LoginRequest(login=admin_name, password=PASSWORD))
    buyer, buyer_id = buyer_user.tokens.access_token, buyer_user.user.id
    seller, seller_id = seller_user.tokens.access_token, seller_user.user.id
    admin = admin_login.tokens.access_token
    service = await service_token(auth, "order")
    pools.ids += [buyer_id, seller_id]

    marker = uuid.uuid4().hex[:10]
    victim_email = f"victim-{marker}@example.com"
    registered = await auth.stub.Register(
        auth_pb2.RegisterRequest(
            email=victim_email,
            username=f"victim_{marker}",
            password=PASSWORD,
            role=roles_pb2.ROLE_SELLER,
            store_name="Victim's store",
        )
    )
    victim = bearer(registered.tokens.access_token)
    private_address = auth_pb2.Address(
        recipient_name=f"Recipient {marker}",
        line1=f"{marker} Private Lane",
        city="Privatetown",
        postal_code="12345",
        country_code="FR",
        phone="+33 1 23 45 67 89",
    )
    created = await auth.stub.CreateAddress(auth_pb2.CreateAddressRequest(address=private_address), metadata=victim)
    own = await auth.stub.CreateAddress(
        auth_pb2.CreateAddressRequest(
            address=auth_pb2.Address(
                recipient_name="Buyer", line1="1 Buyer Street", city="Paris", postal_code="75001", country_code="FR"
            )
        ),
        metadata=bearer(buyer),
    )
    pools.ids += [created.address.id, own.address.id]
    private = [
        victim_email.encode(),
        private_address.line1.encode(),
        private_address.recipient_name.encode(),
        registered.tokens.access_token.encode(),
        registered.tokens.refresh_token.encode(),
    ]
    state: dict[str, Any] = {"email": victim_email, "address": created.address}
    page_tokens: list[str] = []

    if "catalog" in services:
        catalog = catalog_pb2_grpc.CatalogServiceStub(services["catalog"].channel)

        async def in_cart(metadata: Metadata, made: catalog_pb2.Product) -> None:
            """A line of the product's first variant in the caller's cart (when the cart service exists)."""
            if "cart" in services:
                carts = cart_pb2_grpc.CartServiceStub(services["cart"].channel)
                await carts.AddCartItem(
                    cart_pb2.AddCartItemRequest(product_id=made.id, variant_id=made.variants[0].id, quantity=1),
                    metadata=metadata,
                )

        async def product(
            metadata: Metadata,
            title: str,
            *,
            inactive: bool = False,
            sizes: tuple[str, ...] = (),
            carted: bool = False,
        ) -> catalog_pb2.Product:
            response = await catalog.CreateProduct(
                catalog_pb2.CreateProductRequest(
                    product=catalog_pb2.Product(
                        sku="SKU-" + uuid.uuid4().hex[:10],
                        title=title,
                        description="Keeps coffee hot for hours.",
                        category="kitchen",
                        brand="Thermia",
                        attributes={"color": "blue"},
                        stock=10,
                        price=money_pb2.Money(currency_code="USD", units=1999),
                        options=[catalog_pb2.ProductOption(name="size", values=sizes)] if sizes else [],
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=metadata,
            )
            made: catalog_pb2.Product = response.product
            # Variant ids too, so the variant RPCs and reservations reach real variants.
            pools.ids += [variant.id for variant in made.variants]
            if carted:
                # Put in the owner's cart while it could still be bought: the cart then shows what it remembers.
                await in_cart(metadata, made)
            if inactive:
                updated = await catalog.UpdateProduct(
                    catalog_pb2.UpdateProductRequest(
                        product=catalog_pb2.Product(id=made.id, status=catalog_pb2.PRODUCT_STATUS_INACTIVE),
                        update_mask=field_mask_pb2.FieldMask(paths=["status"]),
                    ),
                    metadata=metadata,
                )
                made = updated.product
            return made

        seller_md = bearer(seller)
        for title in ("Insulated travel mug", "Ceramic coffee mug", "Steel water bottle"):
            pools.ids.append((await product(seller_md, title)).id)
        pools.ids.append((await product(seller_md, "Draft tea mug", inactive=True)).id)
        shoe = await product(seller_md, "Trail running shoe", sizes=("41", "42", "43"))
        pools.ids.append(shoe.id)
        await in_cart(bearer(buyer), shoe)
        public = await product(victim, "Victim's public mug")
        if "order" in services:
            # The victim's order, shipped to a private address: only the victim (and admins) may see it.
            await in_cart(victim, public)
            orders = order_pb2_grpc.OrderServiceStub(services["order"].channel)
            placed = await orders.CreateOrder(
                order_pb2.CreateOrderRequest(
                    request_id=str(uuid.uuid4()),
                    shipping_address=order_pb2.ShippingAddress(
                        recipient_name=f"Receiver {marker}",
                        line1=f"{marker} Order Lane",
                        city="Privatetown",
                        country_code="FR",
                    ),
                ),
                metadata=victim,
            )
            carts = cart_pb2_grpc.CartServiceStub(services["cart"].channel)
            await carts.RemoveCartItem(
                cart_pb2.RemoveCartItemRequest(variant_id=public.variants[0].id), metadata=victim
            )
            pools.ids.append(placed.order.id)
            private += [f"{marker} Order Lane".encode(), f"Receiver {marker}".encode()]
            state["order"] = (placed.order.id, placed.order.status, placed.order.shipping_address)
        # A buyer's order too, for the order RPCs to find.
        if "order" in services:
            await in_cart(bearer(buyer), public)
            mine = await order_pb2_grpc.OrderServiceStub(services["order"].channel).CreateOrder(
                order_pb2.CreateOrderRequest(
                    request_id=str(uuid.uuid4()),
                    shipping_address=order_pb2.ShippingAddress(
                        recipient_name="Buyer", line1="1 Buyer Street", city="Paris", country_code="FR"
                    ),
                ),
                metadata=bearer(buyer),
            )
            pools.ids.append(mine.order.id)
        hidden_title = f"Hidden {marker} kettle"
        hidden = await product(victim, hidden_title, inactive=True, sizes=("S", "M"), carted=True)
        pools.ids += [public.id, hidden.id]
        private.append(hidden_title.encode())
        state["products"] = {public.id: public.title, hidden.id: hidden.title}
        if "cart" in services:
            state["cart"] = [(hidden.variants[0].id, 1)]
        pools.words += ["mug", "coffee", "bottle", "kettle", "thermia", "mgu", "size", "42", "M"]

        async def searchable() -> bool:
            found = await catalog.SearchProducts(
                catalog_pb2.SearchProductsRequest(query="mug", page_size=1, mode=catalog_pb2.SEARCH_MODE_LEXICAL)
            )
            return bool(found.next_page_token)

        await _eventually(searchable)
        # A page token of every list, to hand to the others.
        listed = await catalog.ListProducts(catalog_pb2.ListProductsRequest(page_size=1))
        page_tokens.append(listed.next_page_token)
        for mode in (catalog_pb2.SEARCH_MODE_LEXICAL, catalog_pb2.SEARCH_MODE_SEMANTIC, catalog_pb2.SEARCH_MODE_HYBRID):
            found = await catalog.SearchProducts(catalog_pb2.SearchProductsRequest(query="mug", page_size=1, mode=mode))
            page_tokens.append(found.next_page_token)
        mine = await catalog.ListMyProducts(catalog_pb2.ListMyProductsRequest(page_size=1), metadata=seller_md)
        page_tokens.append(mine.next_page_token)
    users = await auth.stub.ListUsers(auth_pb2.ListUsersRequest(page_size=1), metadata=bearer(admin))
    page_tokens.append(users.next_page_token)
    pools.page_tokens = [token for token in page_tokens if token]

    kid = key_id(signing_pem)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = auth.settings
    callers: dict[str, Metadata] = {
        "anonymous": (),
        "buyer": bearer(buyer),
        "seller": bearer(seller),
        "admin": bearer(admin),
        "service": bearer(service),
        # The victim's identity with every role, signed by a key auth never had.
        "forged": bearer(_token(other_key, kid, settings, sub=registered.user.id, roles=["buyer", "seller", "admin"])),
        # Auth's own key, but expired an hour ago.
        "expired": bearer(
            _token(signing_pem, kid, settings, sub=registered.user.id, roles=["seller"], exp=int(time.time()) - 3600)
        ),
        # Auth's own key, for another audience.
        "other-audience": bearer(_token(signing_pem, kid, settings, sub=registered.user.id, aud="elsewhere")),
    }
    return Mesh(
        services=services,
        callers=callers,
        trusted=frozenset({"admin", "service"}),
        private=private,
        pools=pools,
        victim=victim,
        victim_state=state,
        logins={"buyer": buyer_name, "seller": seller_name, "admin": admin_name},
    )
