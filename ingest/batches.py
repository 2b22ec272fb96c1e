"""What one batch writes in its one transaction: the accepted readings and every dead letter.

Why apart from the ingestor: ``ingest.service`` moves messages (MQTT, queue, threads,
retries, acknowledgements); this module decides what a batch of parsed messages becomes in
the database, inside the caller's transaction. A reading the parser rejected, or one
whose device is unknown or was not bound to a member at that instant, becomes a
``dead_letters`` row with the raw payload and the reason: bad input is never dropped
silently. Nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ingest import repository
from ingest.parsing import ParsedMessage

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Message:
    """One MQTT message as received (``generation``: the connection it came on)."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    generation: int


Batch = list[tuple[Message, ParsedMessage]]
Outcome = tuple[repository.BatchResult, list[repository.DeadLetter]]


def dead_letter(
    msg: Message, parsed: ParsedMessage, reason: str, field: str | None, detail: str, cap: int
) -> repository.DeadLetter:
    """A dead_letters row for ``msg``, its payload cut to ``cap`` bytes (and says so)."""
    return repository.DeadLetter(
        topic=msg.topic,
        device_id=parsed.device_id,
        kind=parsed.kind,
        reason=reason,
        field=field,
        detail=detail,
        payload=msg.payload[:cap],
        payload_bytes=len(msg.payload),
        truncated=len(msg.payload) > cap,
        received_at=msg.received_at,
    )


def write(conn: psycopg.Connection[Any], batch: Batch, cap: int) -> Outcome:
    """Write the batch in the caller's transaction; a message the database refuses is
    isolated (:func:`_write_isolated`) instead of failing the batch."""
    try:
        with conn.transaction():
            return _write(conn, batch, cap)
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
        log.error("the database refused a row the parser accepted; isolating the message")
        return _write_isolated(conn, batch, cap)


def _write(conn: psycopg.Connection[Any], batch: Batch, cap: int) -> Outcome:
    """Readings, then the parser's rejections and the unattributed readings as dead letters."""
    dead: list[repository.DeadLetter] = []
    for msg, parsed in batch:
        dead.extend(
            dead_letter(msg, parsed, r.reason, r.field, r.detail, cap) for r in parsed.rejections
        )
    result = repository.write_readings(conn, [parsed.readings for _, parsed in batch])
    for u in result.unattributed:
        msg, parsed = batch[u.msg]
        reading = parsed.readings[u.index]
        detail = f"no binding of this device at {reading.measured_at.isoformat()}"
        if u.reason == "unknown_device":
            detail = "device is not registered"
        dead.append(dead_letter(msg, parsed, u.reason, parsed.path(u.index), detail, cap))
    repository.insert_dead_letters(conn, dead)
    return result, dead


def _write_isolated(conn: psycopg.Connection[Any], batch: Batch, cap: int) -> Outcome:
    """Rare path: one savepoint per message; a message the database refuses is dead-lettered."""
    stored = dups = 0
    dead: list[repository.DeadLetter] = []
    orphans: list[repository.Unattributed] = []
    with conn.transaction():
        for msg, parsed in batch:
            try:
                with conn.transaction():
                    res, d = _write(conn, [(msg, parsed)], cap)
                stored, dups = stored + res.stored, dups + res.duplicates
                dead.extend(d)
                orphans.extend(res.unattributed)
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                row = dead_letter(msg, parsed, "db_rejected", None, str(exc.sqlstate), cap)
                repository.insert_dead_letters(conn, [row])
                dead.append(row)
            repository.clear_staging(conn)
    return repository.BatchResult(stored, dups, orphans), dead
