"""Auth domain events as the event payloads of the contract (marketplace.events.v1)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from marketplace.common.v1 import roles_pb2
from marketplace.events.v1 import events_pb2
from services.auth import domain
from services.kit.protos import timestamp

# The contract's role values (events and responses) and the domain's role names.
ROLE_NAMES = {
    roles_pb2.ROLE_BUYER: domain.BUYER,
    roles_pb2.ROLE_SELLER: domain.SELLER,
    roles_pb2.ROLE_ADMIN: domain.ADMIN,
}
ROLE_VALUES = {name: value for value, name in ROLE_NAMES.items()}


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject, payload message) for the outbox."""
    if isinstance(event, domain.UserRegistered):
        return event.user_id, events_pb2.UserRegistered(
            user_id=event.user_id,
            email=event.email,
            username=event.username,
            display_name=event.display_name,
            role=ROLE_VALUES[event.role],
        )
    if isinstance(event, domain.UserProfileChanged):
        return event.user_id, events_pb2.UserProfileChanged(
            user_id=event.user_id,
            username=event.username,
            display_name=event.display_name,
            store_name=event.store_name,
        )
    if isinstance(event, domain.PasswordResetRequested):
        return event.user_id, events_pb2.PasswordResetRequested(
            user_id=event.user_id,
            email=event.email,
            reset_token=event.reset_token,
            expires_at=timestamp(event.expires_at),
        )
    raise TypeError(f"no payload for {type(event).__name__}")
