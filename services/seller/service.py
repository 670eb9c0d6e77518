"""The seller service's definition: what the kit's server runs."""

from __future__ import annotations

from pathlib import Path

from marketplace.seller.v1 import seller_pb2, seller_pb2_grpc
from services.kit.server import Runtime, ServiceDefinition
from services.seller.api import SellerApi
from services.seller.consumers import consumers
from services.seller.handlers.deps import Deps
from services.seller.settings import SellerSettings


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, SellerSettings):
        raise TypeError("the seller service needs SellerSettings")
    if runtime.sessions is None or runtime.redis is None:
        raise RuntimeError("the seller service needs its database and Redis")
    deps = Deps(settings=settings, sessions=runtime.sessions)
    for consumer in consumers(deps, runtime.redis):
        runtime.add_task(f"seller-{consumer.stream}", consumer.run)
    seller_pb2_grpc.add_SellerServiceServicer_to_server(SellerApi(deps), runtime.server)


DEFINITION = ServiceDefinition(
    name="seller",
    settings_type=SellerSettings,
    grpc_services=[seller_pb2.DESCRIPTOR.services_by_name["SellerService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
)
