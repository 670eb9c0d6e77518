"""`python -m services dead-letters list|replay|drop`: the events a consumer group gave up on.

A `StreamConsumer` moves an event its group failed `max_deliveries` times to `<stream>.dead`, with the fields
`envelope`, `group`, `error`, `deliveries` and `original_id` (`services.kit.bus`). These commands show those
entries, hand them back to their group once the cause is fixed, or delete them.

Replay hands the event back to the group that failed it, and to no other: the dead letter names the stream, the
group and the original entry, which the stream usually still holds (the relay trims streams to about 100 000
entries, and the dead-lettering consumer only acknowledged the entry). One script puts that entry back into the
group's pending entries (`XCLAIM ... FORCE`, with a delivery count of 0 and an idle time far beyond any
`claim_idle`), then deletes the dead letter, only once the entry is back; Redis runs the script as one step, so no
other client sees the state in between. The group's next claim pass (`XAUTOCLAIM`, about once a second) hands the
entry to one of its consumers as a first delivery, so it gets `max_deliveries` fresh tries. Other groups and
broadcast tails (`StreamTail`) never see it again. Adding the envelope to the stream as a new entry would instead
reach every group and every tail: groups that handled the event already would skip it (the inbox dedupes by event
id and group), but tails have no inbox, and watchers would be told about it a second time.

That is still the only way back for an entry the stream no longer holds, so `replay --re-add` does it when (and
only when) the original entry is gone; without the flag such a replay fails and keeps the dead letter.

Replaying is idempotent: a replayed dead letter is gone, so a second replay of its id fails as unknown without
touching anything; and an event the group did handle meanwhile is skipped by its inbox if it comes back.
The replay puts the entry under the consumer name `dead-letters` until a consumer of the group claims it; that
consumer name stays in the group with nothing pending (`XGROUP DELCONSUMER` removes it).

The Redis URL is `--redis-url`, else REDIS_URL from the environment over the running stack's run file
(`services.kit.cli.command_settings`), so with `make run` running nothing needs exporting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from google.protobuf.message import DecodeError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from marketplace.events.v1.envelope_pb2 import Envelope
from services.kit.cli import START_HINT, CommandFailed, command_settings
from services.kit.outbox import dead_letter_stream
from services.kit.settings import ServiceSettings

DEAD_SUFFIX = dead_letter_stream("")
# The consumer that holds a replayed entry until the group's own consumers claim it.
REPLAY_CONSUMER = "dead-letters"
# Idle time given to a replayed entry: longer than any consumer's claim_idle, so the next claim pass takes it
# (Redis caps an idle time reaching before the epoch at "now", so a large value is safe).
REPLAY_IDLE_MS = 365 * 24 * 3600 * 1000
PAGE = 500
ENTRY_ID = re.compile(r"[0-9]+-[0-9]+")

# KEYS: the dead stream, the original stream; ARGV: dead letter id, group, original id, consumer, idle ms,
# "1" to re-add the envelope when the original entry is gone, the envelope.
# Returns "missing" (no such dead letter), "trimmed" (the original entry is gone and no re-add was asked),
# "claimed" or "re-added". The dead letter is deleted only after the event is back, in the same script, so a
# failure in between cannot lose it.
_REPLAY_SCRIPT = """
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then
  return 'missing'
end
local outcome = 'claimed'
if ARGV[3] == '' or #redis.call('XRANGE', KEYS[2], ARGV[3], ARGV[3]) == 0 then
  if ARGV[6] ~= '1' then
    return 'trimmed'
  end
  redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[7])
  outcome = 're-added'
else
  local claimed = redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[4], 0, ARGV[3],
    'IDLE', ARGV[5], 'RETRYCOUNT', 0, 'FORCE', 'JUSTID')
  if #claimed == 0 then
    return 'trimmed'
  end
end
redis.call('XDEL', KEYS[1], ARGV[1])
return outcome
"""


class DeadLetterSettings(ServiceSettings):
    """Only the common settings (REDIS_URL) are read; the name keeps the command's settings apart."""

    service: ClassVar[str] = "dead-letters"


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the entry's id in the dead stream
    stream: str  # the stream the event came from
    group: str
    event_type: str
    event_id: str
    subject: str
    error: str
    deliveries: int
    original_id: str  # the event's entry in `stream`
    dead_lettered_at: datetime
    occurred_at: datetime | None
    envelope: bytes

    @property
    def dead_stream(self) -> str:
        return dead_letter_stream(self.stream)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stream": self.stream,
            "group": self.group,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "subject": self.subject,
            "error": self.error,
            "deliveries": self.deliveries,
            "original_id": self.original_id,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
        }

    def line(self) -> str:
        when = self.dead_lettered_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        event = f"{self.event_type or '?'} {self.event_id or '?'}"
        # One line per letter even when the error spans several (a traceback's repr, a server's message).
        error = " ".join(self.error.split())
        return (
            f"{self.id}  {self.stream}  group={self.group}  {event}  subject={self.subject or '-'}  "
            f"deliveries={self.deliveries}  {when}  {error}"
        )


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _time_of(entry_id: str) -> datetime:
    """When an entry was added: its id's first part is the server's clock in milliseconds."""
    milliseconds = int(entry_id.split("-", 1)[0])
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def parse_entry(stream: str, entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
    raw = fields.get(b"envelope", b"")
    envelope = Envelope()
    try:
        envelope.ParseFromString(raw)
    except DecodeError:
        # A malformed envelope is a reason to dead-letter: it is still listed, with what the fields say.
        envelope = Envelope()
    deliveries = _text(fields.get(b"deliveries"))
    occurred = envelope.occurred_at.ToDatetime(tzinfo=UTC) if envelope.HasField("occurred_at") else None
    identifier = _text(entry_id)
    return DeadLetter(
        id=identifier,
        stream=stream,
        group=_text(fields.get(b"group")),
        event_type=envelope.type,
        event_id=envelope.id,
        subject=envelope.subject,
        error=_text(fields.get(b"error")),
        deliveries=int(deliveries) if deliveries.isdigit() else 0,
        original_id=_text(fields.get(b"original_id")),
        dead_lettered_at=_time_of(identifier),
        occurred_at=occurred,
        envelope=raw,
    )


def source_stream(name: str) -> str:
    """The stream an operator means by `name`: `events.order` or its dead stream `events.order.dead`."""
    return name[: -len(DEAD_SUFFIX)] if name.endswith(DEAD_SUFFIX) else name


async def dead_streams(redis: Redis, stream: str | None) -> list[str]:
    """The source streams whose dead streams exist: `stream` alone when given, else every `*.dead` stream."""
    if stream:
        return [stream]
    found: set[str] = set()
    async for key in redis.scan_iter(match=f"*{DEAD_SUFFIX}", _type="stream", count=1000):
        found.add(source_stream(_text(key)))
    return sorted(found)


async def list_dead_letters(redis: Redis, *, stream: str | None = None, group: str | None = None) -> list[DeadLetter]:
    """Every dead letter (of `stream`, of `group` when given), by stream then age."""
    letters: list[DeadLetter] = []
    for source in await dead_streams(redis, stream):
        start = "-"
        while True:
            # Paged: a dead stream nobody looked at for months can be long.
            entries = await redis.xrange(dead_letter_stream(source), min=start, max="+", count=PAGE)
            for entry_id, fields in entries:
                letter = parse_entry(source, entry_id, fields)
                if group is None or letter.group == group:
                    letters.append(letter)
            if len(entries) < PAGE:
                break
            start = f"({_text(entries[-1][0])}"
    return letters


async def find_dead_letters(redis: Redis, ids: Sequence[str], *, stream: str | None = None) -> list[DeadLetter]:
    """The dead letters with these ids, looked up in `stream`'s dead stream or else in every one.

    CommandFailed naming every id that is not a stream id, is nowhere, or is in more than one dead stream
    (entry ids are unique within a stream only), before anything is done with the others.
    """
    sources = await dead_streams(redis, stream)
    found: list[DeadLetter] = []
    problems: list[str] = []
    for entry_id in ids:
        # Both parts, always: Redis reads "1764650000000" as every entry of that millisecond.
        if not ENTRY_ID.fullmatch(entry_id):
            problems.append(f"{entry_id} is not a stream entry id (like 1764650000000-0)")
            continue
        matches: list[DeadLetter] = []
        for source in sources:
            entries = await redis.xrange(dead_letter_stream(source), min=entry_id, max=entry_id)
            matches += [parse_entry(source, found_id, fields) for found_id, fields in entries]
        if not matches:
            where = dead_letter_stream(stream) if stream else "any dead stream"
            problems.append(f"no dead letter {entry_id} in {where} (see `dead-letters list`)")
        elif len(matches) > 1:
            streams = ", ".join(letter.stream for letter in matches)
            problems.append(f"{entry_id} is a dead letter of several streams ({streams}): pass --stream")
        else:
            found.append(matches[0])
    if problems:
        raise CommandFailed("; ".join(problems))
    return found


@dataclass(frozen=True)
class Replayed:
    letter: DeadLetter
    outcome: str  # "claimed", "re-added", "trimmed" or "missing" (see _REPLAY_SCRIPT)


async def replay(redis: Redis, letters: Iterable[DeadLetter], *, re_add: bool = False) -> list[Replayed]:
    """Hands each letter's event back to its group and deletes the letter (see the module's docstring)."""
    script = redis.register_script(_REPLAY_SCRIPT)
    results: list[Replayed] = []
    for letter in letters:
        try:
            outcome = await script(
                keys=[letter.dead_stream, letter.stream],
                args=[
                    letter.id,
                    letter.group,
                    letter.original_id,
                    REPLAY_CONSUMER,
                    REPLAY_IDLE_MS,
                    "1" if re_add else "0",
                    letter.envelope,
                ],
            )
        except ResponseError as error:
            if "NOGROUP" in str(error):
                raise CommandFailed(
                    f"{letter.id} not replayed: {letter.stream} has no group {letter.group} any more "
                    "(its consumer creates it again when it starts)"
                ) from error
            raise
        results.append(Replayed(letter, _text(outcome)))
    return results


async def drop(redis: Redis, letters: Iterable[DeadLetter]) -> int:
    """Deletes the letters; returns how many were still there."""
    deleted = 0
    for letter in letters:
        deleted += int(await redis.xdel(letter.dead_stream, letter.id))
    return deleted


# --- the command ----------------------------------------------------------------------------------------------


REDIS_URL_HELP = "default: REDIS_URL, else the running stack's run file"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services dead-letters",
        description="List, replay or drop the events a consumer group gave up on (<stream>.dead).",
    )
    parser.add_argument("--redis-url", default="", help=REDIS_URL_HELP)
    commands = parser.add_subparsers(dest="action", required=True)

    listing = commands.add_parser("list", help="show each dead letter, one line each")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of lines")

    replaying = commands.add_parser("replay", help="hand events back to the group that failed them, and no other")
    which = replaying.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", default=[], metavar="DEAD_LETTER_ID", help="ids shown by `list`")
    which.add_argument("--all", action="store_true", help="every dead letter (of --stream, --group)")
    replaying.add_argument(
        "--re-add",
        action="store_true",
        help="when the stream no longer holds the original entry, add the envelope again: every group reads it "
        "(those that handled it skip it by their inbox) and broadcast tails see it again",
    )

    dropping = commands.add_parser("drop", help="delete dead letters for good")
    dropping.add_argument("ids", nargs="+", metavar="DEAD_LETTER_ID")
    dropping.add_argument("--yes", action="store_true", help="needed: the events are not kept anywhere else")

    for command in (listing, replaying, dropping):
        command.add_argument("--stream", default="", help="only this stream's dead letters (e.g. events.order)")
        # Accepted after the action too; SUPPRESS keeps a value given before it.
        command.add_argument("--redis-url", default=argparse.SUPPRESS, help=REDIS_URL_HELP)
    for command in (listing, replaying):
        command.add_argument("--group", default="", help="only this consumer group's dead letters")
    return parser


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if user else '***'}@{host}"


def _redis_failure(error: RedisError | OSError, url: str) -> CommandFailed:
    where = _redacted(url)
    if isinstance(error, (RedisConnectionError, RedisTimeoutError, OSError)):
        reason = str(error).rstrip(".") or type(error).__name__
        return CommandFailed(f"cannot reach Redis at {where} ({reason}): {START_HINT}")
    return CommandFailed(f"Redis at {where} refused: {error}")


async def _act(redis: Redis, args: argparse.Namespace) -> int:
    stream = source_stream(args.stream) if args.stream else None
    if args.action == "list":
        letters = await list_dead_letters(redis, stream=stream, group=args.group or None)
        if args.json:
            print(json.dumps([letter.as_json() for letter in letters], indent=2))
        elif letters:
            print("\n".join(letter.line() for letter in letters))
        else:
            print("no dead letters")
        return 0

    if args.action == "replay":
        if args.all:
            letters = await list_dead_letters(redis, stream=stream, group=args.group or None)
        else:
            letters = await find_dead_letters(redis, args.ids, stream=stream)
            if args.group:
                others = [letter.id for letter in letters if letter.group != args.group]
                if others:
                    raise CommandFailed(f"not dead letters of group {args.group}: {', '.join(others)}")
        status = 0
        for result in await replay(redis, letters, re_add=args.re_add):
            letter = result.letter
            what = f"{letter.id} ({letter.event_type} {letter.event_id} on {letter.stream})"
            if result.outcome == "claimed":
                print(f"replayed {what} to group {letter.group}")
            elif result.outcome == "re-added":
                print(f"re-added {what} to {letter.stream}: every group reads it, {letter.group} handles it")
            elif result.outcome == "trimmed":
                status = 1
                print(
                    f"not replayed {what}: {letter.stream} no longer holds {letter.original_id}; "
                    "--re-add adds the envelope again for every group",
                    file=sys.stderr,
                )
            else:
                status = 1
                print(f"not replayed {what}: it was replayed or dropped meanwhile", file=sys.stderr)
        if not letters:
            print("no dead letters to replay")
        return status

    letters = await find_dead_letters(redis, args.ids, stream=stream)
    if not args.yes:
        for letter in letters:
            print(letter.line())
        raise CommandFailed(f"{len(letters)} dead letter(s) would be deleted for good: pass --yes to do it")
    deleted = await drop(redis, letters)
    print(f"dropped {deleted} dead letter(s)")
    return 0


async def run(argv: Sequence[str] | None = None) -> int:
    """The command (in a running event loop); prints one line and returns non-zero when it cannot do its work."""
    args = _parser().parse_args(None if argv is None else list(argv))
    # An explicit URL skips the run file and environment altogether.
    url = args.redis_url or command_settings(DeadLetterSettings).redis_url
    redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        return await _act(redis, args)
    except CommandFailed as failure:
        print(f"dead-letters {args.action}: {failure}", file=sys.stderr)
        return 1
    except (RedisError, OSError) as error:
        print(f"dead-letters {args.action}: {_redis_failure(error, url)}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(argv))


if __name__ == "__main__":
    sys.exit(main())
