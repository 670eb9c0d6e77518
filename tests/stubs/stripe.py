"""A local server that speaks Stripe's REST API as the `stripe` 16.x SDK uses it for PaymentIntents and Refunds.

- `POST /v1/payment_intents` (form-encoded: `amount`, `currency`, `metadata[...]`, ...) → a PaymentIntent in
  `requires_payment_method` with a `client_secret`.
- `GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}` (metadata updates),
  `POST /v1/payment_intents/{id}/cancel` (400 `payment_intent_unexpected_state` once succeeded or cancelled).
- `POST /v1/refunds` (`payment_intent`) → a succeeded Refund of the whole amount; 400
  `charge_already_refunded` for a refunded intent, 400 for one that never succeeded.
- Every call needs `Authorization: Bearer <api key>` (else 401). A POST with an `Idempotency-Key` already seen
  gets the first answer again, as Stripe does.
- Errors use Stripe's shape, `{"error": {"type", "code", "message", "param"}}`; unknown ids are 404
  `resource_missing`.

Tests drive intents as a buyer's browser would (`succeed`, `decline`), make it unreachable for a while
(`fail_next`: 500 `api_error`), and read what it received (`requests`, `intents`, `refunds`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.stubs.served import ServedStub

Answer = tuple[int, dict[str, Any]]


@dataclass
class ReceivedRequest:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str
    status: int


def _error(status: int, kind: str, code: str, message: str, param: str = "") -> Answer:
    error: dict[str, Any] = {"type": kind, "code": code, "message": message}
    if param:
        error["param"] = param
    return status, {"error": error}


def _missing(kind: str, object_id: str) -> Answer:
    return _error(404, "invalid_request_error", "resource_missing", f"No such {kind}: '{object_id}'", "id")


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {key[len("metadata[") : -1]: value for key, value in form.items() if key.startswith("metadata[")}


@dataclass
class StripeStub(ServedStub):
    thread_name = "stripe-stub"

    api_key: str = "sk_test_stub"
    requests: list[ReceivedRequest] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The next this many API calls answer 500 before doing anything (Stripe unreachable or failing before it
    # began the request: nothing is saved under their idempotency keys).
    fail_next: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: dict[str, Answer] = {}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # What a buyer's browser and Stripe do meanwhile (tests).

    def succeed(self, intent_id: str) -> dict[str, Any]:
        with self._lock:
            intent = self.intents[intent_id]
            intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            intent["latest_charge"] = "ch_" + secrets.token_hex(12)
            return dict(intent)

    def decline(self, intent_id: str) -> dict[str, Any]:
        with self._lock:
            intent = self.intents[intent_id]
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                },
            )
            return dict(intent)

    def calls(self, method: str, path_prefix: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # The API, called from the handler threads.

    def answer(self, method: str, path: str, form: dict[str, str], authorization: str, key: str) -> Answer:
        if authorization != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", "", "Invalid API Key provided")
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return _error(500, "api_error", "", "An unknown error occurred")
            replay_key = f"{method} {path} {key}"
            if method == "POST" and key and replay_key in self._replies:
                return self._replies[replay_key]
            reply = self._route(method, path, form)
            if method == "POST" and key and reply[0] < 500:
                self._replies[replay_key] = reply
            return reply

    def _route(self, method: str, path: str, form: dict[str, str]) -> Answer:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return self._create_intent(form)
            intent = self.intents.get(parts[2]) if len(parts) > 2 else None
            if intent is None:
                return _missing("payment_intent", parts[2] if len(parts) > 2 else "")
            if len(parts) == 3 and method == "GET":
                return 200, dict(intent)
            if len(parts) == 3 and method == "POST":
                intent["metadata"].update(_metadata(form))
                return 200, dict(intent)
            if len(parts) == 4 and parts[3] == "cancel" and method == "POST":
                return self._cancel(intent)
        if parts == ["v1", "refunds"] and method == "POST":
            return self._refund(form)
        return _error(404, "invalid_request_error", "", f"Unrecognized request URL ({method}: {path})")

    def _create_intent(self, form: dict[str, str]) -> Answer:
        if not form.get("amount", "").isdigit():
            return _error(
                400, "invalid_request_error", "parameter_missing", "Missing required param: amount.", "amount"
            )
        currency = form.get("currency", "")
        if not currency or currency != currency.lower():
            return _error(400, "invalid_request_error", "parameter_invalid", "Invalid currency", "currency")
        intent_id = "pi_" + secrets.token_hex(12)
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "metadata": _metadata(form),
            "last_payment_error": None,
            "latest_charge": None,
            "canceled_at": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return 200, dict(intent)

    def _cancel(self, intent: dict[str, Any]) -> Answer:
        if intent["status"] in ("succeeded", "canceled"):
            return _error(
                400,
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            )
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason="requested_by_customer")
        return 200, dict(intent)

    def _refund(self, form: dict[str, str]) -> Answer:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _missing("payment_intent", form.get("payment_intent", ""))
        if any(refund["payment_intent"] == intent["id"] for refund in self.refunds.values()):
            return _error(
                400,
                "invalid_request_error",
                "charge_already_refunded",
                f"Charge {intent['latest_charge']} has already been refunded.",
            )
        if intent["status"] != "succeeded":
            return _error(
                400,
                "invalid_request_error",
                "payment_intent_unexpected_state",
                "This PaymentIntent does not have a successful charge to refund.",
            )
        refund_id = "re_" + secrets.token_hex(12)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "metadata": _metadata(form),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund_id] = refund
        return 200, dict(refund)

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler_for(stub: StripeStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._serve("GET", b"")

        def do_POST(self) -> None:
            self._serve("POST", self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _serve(self, method: str, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            form = dict(urllib.parse.parse_qsl(body.decode() if body else query, keep_blank_values=True))
            key = self.headers.get("Idempotency-Key", "")
            status, reply = stub.answer(method, path, form, self.headers.get("Authorization", ""), key)
            stub.record(ReceivedRequest(method, path, form, key, status))
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(8))
            if key:
                self.send_header("Idempotency-Key", key)
            self.end_headers()
            self.wfile.write(data)

    return Handler
