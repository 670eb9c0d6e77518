"""Structured logs: one JSON object per line (LOG_FORMAT=json, the default) or readable text (LOG_FORMAT=text).

Every line carries the correlation id of the RPC being handled and, when an OpenTelemetry span is active, its
trace id and span id, so a log line, a trace and an error reference shown to a caller can be matched.
Extra fields go in `extra={"fields": {...}}`.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


def correlation_id() -> str:
    """The correlation id of the RPC being handled ("" outside an RPC)."""
    return _correlation_id.get()


def set_correlation_id(value: str) -> object:
    """Used by the logging interceptor; returns a token for `reset_correlation_id`."""
    return _correlation_id.set(value)


def reset_correlation_id(token: object) -> None:
    _correlation_id.reset(token)  # type: ignore[arg-type]


def _context_fields() -> dict[str, str]:
    fields: dict[str, str] = {}
    if cid := _correlation_id.get():
        fields["correlation_id"] = cid
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        fields["trace_id"] = f"{span_context.trace_id:032x}"
        fields["span_id"] = f"{span_context.span_id:016x}"
    return fields


class _ContextFilter(logging.Filter):
    """Captures the correlation id and span when the record is made (formatting may happen later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context_fields = _context_fields()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "context_fields", {}))
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {**getattr(record, "context_fields", {}), **getattr(record, "fields", {})}
        pairs = " ".join(f"{key}={value}" for key, value in extra.items())
        text = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if pairs:
            text = f"{text} {pairs}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    """Sends every log record to stderr in the chosen format. Safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_marketplace", False):
            root.removeHandler(existing)
    handler._marketplace = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
