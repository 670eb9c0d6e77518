"""Whether the Redis a service is given keeps its data across a restart (`check_redis_persistence`).

Redis holds state the services cannot rebuild on their own: token and session revocations, the event streams,
the consumer groups' positions and pending entries, and the relay's dedupe keys (`outbox:sent:<event id>`,
what makes publishing exactly-once). A Redis without persistence loses all of it with every restart. The kit
checks once per service at start (`run_service`) and logs one loud warning line when it does not persist, or
when it cannot tell (a managed Redis that refuses CONFIG): see docs/kit.md, "Redis persistence".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger("services.kit.persistence")

CHECK_TIMEOUT_SECONDS = 2.0
WHAT_IS_LOST = "token revocations, event streams, consumer groups and the relay's dedupe keys"
HOW_TO_FIX = "run Redis with appendonly yes and appendfsync everysec (docs/kit.md, Redis persistence)"
# appendfsync values that bound a crash's loss (always: nothing; everysec: about a second of writes).
DURABLE_FSYNC = ("always", "everysec")


class Persistence(Enum):
    DURABLE = "durable"  # append-only file, fsync always or every second
    WEAK = "weak"  # something persists, but a restart can lose much more than a second of writes
    NONE = "none"  # nothing survives a restart
    UNVERIFIED = "unverified"  # CONFIG refused (managed Redis) or Redis unreachable


@dataclass(frozen=True)
class PersistenceReport:
    persistence: Persistence
    detail: str  # what was found, e.g. "appendonly no, save ''"

    def warning(self, where: str) -> str | None:
        """The one line to log for this Redis (`where`: its address), or None when it persists durably."""
        if self.persistence is Persistence.DURABLE:
            return None
        if self.persistence is Persistence.UNVERIFIED:
            return (
                f"could not verify that Redis at {where} persists ({self.detail}): unless it keeps an append-only "
                f"file, a restart loses {WHAT_IS_LOST}; {HOW_TO_FIX}"
            )
        if self.persistence is Persistence.NONE:
            return f"Redis at {where} does not persist ({self.detail}): a restart loses {WHAT_IS_LOST}; {HOW_TO_FIX}"
        return (
            f"Redis at {where} persists only partly ({self.detail}): a restart can lose the latest {WHAT_IS_LOST}; "
            f"{HOW_TO_FIX}"
        )


def judge(config: dict[str, str]) -> PersistenceReport:
    """The persistence of a Redis whose `CONFIG GET` answered `config` (appendonly, appendfsync, save)."""
    appendonly = config.get("appendonly", "no").strip().lower()
    appendfsync = config.get("appendfsync", "").strip().lower()
    save = config.get("save", "").strip()
    if appendonly == "yes":
        detail = f"appendonly yes, appendfsync {appendfsync or '?'}"
        if appendfsync in DURABLE_FSYNC:
            return PersistenceReport(Persistence.DURABLE, detail)
        return PersistenceReport(Persistence.WEAK, f"{detail}: the OS decides when writes reach the disk")
    if save:
        return PersistenceReport(Persistence.WEAK, f"appendonly no, only snapshots (save '{save}')")
    return PersistenceReport(Persistence.NONE, "appendonly no, save ''")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_redis_persistence(redis: Redis) -> PersistenceReport:
    """Asks the server's configuration; never raises."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            config: dict[str, str] = {}
            for name in ("appendonly", "appendfsync", "save"):
                answer = await redis.config_get(name)
                config.update({_text(key): _text(value) for key, value in answer.items()})
    except ResponseError as refused:
        return PersistenceReport(Persistence.UNVERIFIED, f"CONFIG GET refused: {refused}")
    except (RedisError, OSError, TimeoutError) as error:
        return PersistenceReport(Persistence.UNVERIFIED, f"Redis did not answer: {error or type(error).__name__}")
    return judge(config)


def display_url(url: str) -> str:
    """The URL without its password (it goes to the logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def warn_unless_persistent(redis: Redis, url: str, service: str) -> PersistenceReport:
    """Checks `redis` and logs one warning line when it does not persist durably; returns what was found."""
    report = await check_redis_persistence(redis)
    warning = report.warning(display_url(url))
    if warning is not None:
        log.warning(warning, extra={"fields": {"service": service, "redis_persistence": report.persistence.value}})
    return report
