"""Placeholder, replaced below."""

from __future__ import annotations

from typing import Any


def document_text(descriptor_set: Any, found: Any) -> str:
    return "openapi: 3.0.3\n"
