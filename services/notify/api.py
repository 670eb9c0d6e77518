"""The NotifyService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from typing import Any

import grpc

from marketplace.notify.v1 import notify_pb2, notify_pb2_grpc
from services.kit.principal import current_principal
from services.kit.protos import mask_paths, timestamp
from services.notify import domain
from services.notify.domain import Notification, Preferences
from services.notify.handlers import listing, preferences
from services.notify.handlers.deps import Deps

Context = grpc.aio.ServicerContext[Any, Any]

_STATUSES = {
    domain.PENDING: notify_pb2.NOTIFICATION_STATUS_QUEUED,
    domain.QUEUED: notify_pb2.NOTIFICATION_STATUS_QUEUED,
    domain.SENDING: notify_pb2.NOTIFICATION_STATUS_QUEUED,
    domain.SENT: notify_pb2.NOTIFICATION_STATUS_SENT,
    domain.FAILED: notify_pb2.NOTIFICATION_STATUS_FAILED,
    domain.SKIPPED: notify_pb2.NOTIFICATION_STATUS_SKIPPED,
}


def _notification(notification: Notification) -> notify_pb2.Notification:
    message = notify_pb2.Notification(
        id=notification.id,
        channel=notify_pb2.CHANNEL_EMAIL,
        template=notification.kind,
        subject=notification.subject,
        status=_STATUSES[notification.status],
        created_at=timestamp(notification.created_at),
        status_reason=notification.status_reason,
    )
    if notification.sent_at is not None:
        message.sent_at.CopyFrom(timestamp(notification.sent_at))
    return message


def _preferences(prefs: Preferences) -> notify_pb2.NotificationPreferences:
    message = notify_pb2.NotificationPreferences(
        order_updates_email=prefs.order_updates_email,
        marketing_email=prefs.marketing_email,
        security_email=prefs.security_email,
    )
    if prefs.updated_at is not None:
        message.update_time.CopyFrom(timestamp(prefs.updated_at))
    return message


class NotifyApi(notify_pb2_grpc.NotifyServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps):
        self._deps = deps

    async def ListNotifications(
        self, request: notify_pb2.ListNotificationsRequest, context: Context
    ) -> notify_pb2.ListNotificationsResponse:
        page, token = await listing.list_notifications(
            self._deps, current_principal(), page_size=request.page_size, page_token=request.page_token
        )
        return notify_pb2.ListNotificationsResponse(
            notifications=[_notification(item) for item in page], next_page_token=token
        )

    async def GetPreferences(
        self, request: notify_pb2.GetPreferencesRequest, context: Context
    ) -> notify_pb2.GetPreferencesResponse:
        prefs = await preferences.get_preferences(self._deps, current_principal())
        return notify_pb2.GetPreferencesResponse(preferences=_preferences(prefs))

    async def UpdatePreferences(
        self, request: notify_pb2.UpdatePreferencesRequest, context: Context
    ) -> notify_pb2.UpdatePreferencesResponse:
        # The contract requires a non-empty mask of preference names, so exactly the named fields change.
        values = {path: bool(getattr(request.preferences, path)) for path in mask_paths(request.update_mask)}
        prefs = await preferences.update_preferences(self._deps, current_principal(), values)
        return notify_pb2.UpdatePreferencesResponse(preferences=_preferences(prefs))
