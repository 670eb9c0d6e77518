"""Notifications, recipients and preferences: what notify decides, free of I/O (stdlib only).

A notification is one email to one user about one thing that happened. Its record is the email's source of
truth: what it is about (`kind` and `data`), where it goes (the address known when it was made), and where it is
in its delivery:

    PENDING --the relay enqueues it--> QUEUED --a worker takes it--> SENDING --the server accepted it--> SENT
                                           ^                           |
                                           +---- temporary failure ----+---- permanent failure / last try --> FAILED
    SKIPPED: made but never to be sent (the user turned its kind off, no address is known, it came too late).

SENDING is written (and committed) before the SMTP conversation and SENT after it, so a worker killed in between
leaves a SENDING record that the next try sends again: an email is sent at least once, and more than once only
when a worker dies after the mail server accepted the message and before SENT was committed (one more copy per
such death, with the same Message-ID).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.kit.errors import FailedPrecondition

# Delivery states.
PENDING = "PENDING"
QUEUED = "QUEUED"
SENDING = "SENDING"
SENT = "SENT"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
FINAL_STATES = frozenset({SENT, FAILED, SKIPPED})

# What a user can turn off.
ORDER_UPDATES = "order_updates_email"
MARKETING = "marketing_email"
ACCOUNT = "security_email"
ALWAYS = "always"  # password resets: the user asked for them


@dataclass(frozen=True)
class Kind:
    """One kind of email: its template's name and the preference that governs it."""

    name: str
    preference: str


WELCOME = Kind("welcome", ACCOUNT)
PASSWORD_RESET = Kind("password_reset", ALWAYS)
ORDER_PAID = Kind("order_paid", ORDER_UPDATES)
ORDER_SHIPPED = Kind("order_shipped", ORDER_UPDATES)
ORDER_DELIVERED = Kind("order_delivered", ORDER_UPDATES)
ORDER_CANCELLED = Kind("order_cancelled", ORDER_UPDATES)
PAYMENT_FAILED = Kind("payment_failed", ORDER_UPDATES)
PAYMENT_REFUNDED = Kind("payment_refunded", ORDER_UPDATES)
FIRST_SALE = Kind("first_sale", ORDER_UPDATES)  # to the seller, the first time a product is sold
KINDS = {
    kind.name: kind
    for kind in (
        WELCOME,
        PASSWORD_RESET,
        ORDER_PAID,
        ORDER_SHIPPED,
        ORDER_DELIVERED,
        ORDER_CANCELLED,
        PAYMENT_FAILED,
        PAYMENT_REFUNDED,
        FIRST_SALE,
    )
}

# Why a notification was not sent.
TURNED_OFF = "the user turned these emails off"
NO_ADDRESS = "no email address is known for this user"
TOO_LATE = "the event was too old when notify handled it"
LINK_EXPIRED = "the reset link had expired"


@dataclass(frozen=True)
class Recipient:
    """Where a user's emails go, as auth told (UserRegistered, PasswordResetRequested)."""

    user_id: str
    email: str
    display_name: str

    @property
    def greeting_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]


@dataclass
class Preferences:
    """Which kinds of email a user wants; every kind on until the user changes it."""

    user_id: str
    order_updates_email: bool = True
    marketing_email: bool = True
    security_email: bool = True
    updated_at: datetime | None = None

    FIELDS = (ORDER_UPDATES, MARKETING, ACCOUNT)

    def wants(self, kind: Kind) -> bool:
        if kind.preference == ALWAYS:
            return True
        return bool(getattr(self, kind.preference))

    def change(self, values: dict[str, bool], now: datetime) -> None:
        """Sets the named fields (each one of FIELDS)."""
        for name, value in values.items():
            if name not in self.FIELDS:
                raise ValueError(f"not a preference: {name}")
            setattr(self, name, value)
        self.updated_at = now


@dataclass
class Notification:
    """One email to one user; see the module's docstring for its states."""

    id: str
    user_id: str
    kind: str
    subject: str
    to_address: str
    to_name: str
    data: dict[str, str]
    created_at: datetime
    status: str = PENDING
    status_reason: str = ""
    attempts: int = 0
    enqueued_at: datetime | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES

    def skip(self, reason: str) -> None:
        self.status = SKIPPED
        self.status_reason = reason

    def queued(self, now: datetime) -> None:
        """The relay handed it to the queue (again, when its job was lost)."""
        if self.status == PENDING:
            self.status = QUEUED
        self.enqueued_at = now

    def busy_until(self, now: datetime) -> datetime | None:
        """Another worker is sending it right now (its lease runs until the returned time)."""
        if self.status == SENDING and self.lease_until is not None and self.lease_until > now:
            return self.lease_until
        return None

    def start_sending(self, now: datetime, lease: timedelta) -> None:
        """A worker takes it. A SENDING record whose lease ran out was taken by a worker that died: taken again."""
        if self.final:
            raise FailedPrecondition("the notification is no longer deliverable", reason="NOTIFICATION_FINAL")
        if self.busy_until(now) is not None:
            raise FailedPrecondition("another worker is sending it", reason="NOTIFICATION_BUSY")
        self.status = SENDING
        self.attempts += 1
        self.lease_until = now + lease

    def sent(self, now: datetime) -> None:
        self.status = SENT
        self.status_reason = ""
        self.sent_at = now
        self.lease_until = None

    def will_retry(self, error: str) -> None:
        """A temporary failure: back in the queue, to be tried again."""
        self.status = QUEUED
        self.status_reason = error
        self.lease_until = None

    def failed(self, error: str) -> None:
        self.status = FAILED
        self.status_reason = error
        self.lease_until = None


def retry_delay(attempt: int, *, base: float, maximum: float) -> float:
    """Seconds before try `attempt + 1` after try `attempt` failed: doubling from `base`, at most `maximum`."""
    return float(min(maximum, base * 2 ** max(0, attempt - 1)))


def format_money(units: int, currency: str) -> str:
    """Minor units for people: 1999 USD -> "$19.99", 1999 EUR -> "€19.99", 500 JPY -> "¥500"."""
    currency = currency.upper()
    digits = _ZERO_DECIMAL.get(currency, 2)
    sign = "-" if units < 0 else ""
    units = abs(units)
    if digits:
        whole, fraction = divmod(units, 10**digits)
        amount = f"{whole:,}.{fraction:0{digits}d}"
    else:
        amount = f"{units:,}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF ", "CAD": "CA$", "AUD": "A$"}
_ZERO_DECIMAL = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2}


@dataclass(frozen=True)
class Line:
    """An order line as an email shows it."""

    title: str
    quantity: int
    unit_units: int
    currency: str

    def describe(self) -> str:
        title = self.title or "an item"
        return f"{self.quantity} × {title} at {format_money(self.unit_units, self.currency)}"


def describe_lines(lines: list[Line]) -> str:
    return "\n".join(f"- {line.describe()}" for line in lines)


@dataclass(frozen=True)
class ProductSale:
    """What one order sold of one product (all its variants together), for the seller's first-sale email."""

    product_id: str
    seller_id: str
    title: str
    quantity: int
    amount_units: int
    currency: str


def sales_by_product(lines: list[tuple[str, str, Line]]) -> dict[str, ProductSale]:
    """(product id, seller id, line) per order line -> one sale per product, in the order's line order."""
    sales: dict[str, ProductSale] = {}
    for product_id, seller_id, line in lines:
        if not product_id or not seller_id:
            continue
        before = sales.get(product_id)
        sales[product_id] = ProductSale(
            product_id,
            seller_id,
            before.title if before is not None else line.title,
            (before.quantity if before is not None else 0) + line.quantity,
            (before.amount_units if before is not None else 0) + line.quantity * line.unit_units,
            line.currency,
        )
    return sales
