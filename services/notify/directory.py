"""Auth's GetUserContact, called with notify's service token: where the emails of a user notify has not heard
of (from UserRegistered) go."""

from __future__ import annotations

from typing import Protocol

import grpc

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from services.kit import clients
from services.kit.errors import Unavailable
from services.notify.domain import Recipient


class Directory(Protocol):
    async def lookup(self, user_id: str) -> Recipient | None: ...


class AuthDirectory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 5.0) -> None:
        self._stub = auth_pb2_grpc.AuthServiceStub(channel)
        self._timeout = timeout

    async def lookup(self, user_id: str) -> Recipient | None:
        """The user's address and name; None when auth knows no such user. Unavailable while auth cannot be
        reached (the event is tried again)."""
        try:
            found = await clients.call(
                self._stub.GetUserContact, auth_pb2.GetUserContactRequest(user_id=user_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise Unavailable("cannot look the user up in auth", reason="AUTH_UNAVAILABLE") from error
        return Recipient(found.user_id, found.email, found.display_name)
