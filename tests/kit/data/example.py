"""A tiny example service for the data-kit tests: one `widgets` table, a Widget aggregate, and its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import Column, Integer, MetaData, String, Table

from services.kit.outbox import add_kit_tables

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()
widgets = Table(
    "widgets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
)
outbox, inbox = add_kit_tables(metadata)


@dataclass(frozen=True)
class WidgetRenamed:
    widget_id: str
    name: str


@dataclass
class Widget:
    id: str
    name: str
    events: list[Any] = field(default_factory=list)

    def rename(self, name: str) -> None:
        self.name = name
        self.events.append(WidgetRenamed(self.id, name))


def widget_event(event: Any) -> tuple[str, Message]:
    if isinstance(event, WidgetRenamed):
        return event.widget_id, StringValue(value=event.name)
    raise TypeError(f"unknown event {event!r}")
