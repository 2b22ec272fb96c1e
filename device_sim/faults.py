"""Fault injection: exactly the faults asked for, each one recorded.

The injector wraps a stream of :class:`~device_sim.payloads.OutMessage` and adds, at
seeded positions:

* ``duplicates``: the message just sent, sent again (a QoS 1 resend, an app retry);
* ``out_of_order``: two consecutive messages of one device swapped, so a later
  measurement arrives first (one swap = one fault);
* ``malformed``: an extra message the ingestor must dead-letter as a whole: truncated
  JSON, bytes that are not UTF-8, a reading without its timestamp, a number sent as text
  (each yields exactly one dead letter);
* ``clock_skew``: an extra single reading whose timestamp is ``skew_s`` in the future (a
  device clock that ran ahead; the ingestor rejects it as ``future_timestamp``);
* ``unknown_devices``: an extra valid reading from a device id nobody registered.

Extra messages never replace real ones, so the clean data set stays complete and a test
can count: received = clean + duplicates + malformed + clock_skew + unknown_devices.
If the stream ends before every fault found a place, the remaining ones are appended
after the last message; an out-of-order swap that still has no partner raises.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from core.payload_format import topic
from device_sim.clock import UTC_OFFSET_S
from device_sim.payloads import OutMessage

CST = timezone(timedelta(seconds=UTC_OFFSET_S))


class FaultPlanError(ValueError):
    """The requested faults cannot all be placed in this stream."""


@dataclass(frozen=True)
class FaultPlan:
    duplicates: int = 0
    out_of_order: int = 0
    malformed: int = 0
    clock_skew: int = 0
    unknown_devices: int = 0
    skew_s: int = 3 * 3600

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """``"duplicates=3,malformed=2"`` (names of the fields; ``skew_s`` too)."""
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition("=")
            key = key.strip().replace("-", "_")
            if key not in names or not value.strip().isdigit():
                raise ValueError(f"bad fault {part!r}; use name=count with names {sorted(names)}")
            kwargs[key] = int(value)
        return cls(**kwargs)

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "skew_s"}

    @property
    def total(self) -> int:
        return sum(self.counts().values())


@dataclass(frozen=True)
class InjectedFault:
    kind: str
    topic: str
    device_id: str
    detail: str
    payload: bytes | None = None  # the bytes sent, for extra messages and duplicates


@dataclass
class FaultInjector:
    plan: FaultPlan
    seed: int = 0
    spacing: int = 20  # mean number of clean messages between two faults
    injected: list[InjectedFault] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(self.plan.counts(), 0)
        for f in self.injected:
            out[f.kind] += 1
        return out

    def wrap(self, messages: Iterable[OutMessage]) -> Iterator[OutMessage]:
        rng = np.random.default_rng([self.seed, 99])
        kinds = [k for k, n in self.plan.counts().items() for _ in range(n)]
        todo = deque(kinds[i] for i in rng.permutation(len(kinds)).tolist())
        gap = self._gap(rng)
        last: OutMessage | None = None
        held: OutMessage | None = None  # sent after its successor (an out-of-order swap)
        want_hold = False
        for msg in messages:
            if held is not None:
                if msg.device_id == held.device_id:
                    yield msg
                    yield held
                    self._record(
                        "out_of_order", held, f"sent after a later message ({msg.first_t})"
                    )
                    last, held = held, None
                    continue
                yield held  # the next message is another device's: no swap, try again
                last, held, want_hold = held, None, True
            if want_hold:
                held, want_hold = msg, False
                continue
            yield msg
            last = msg
            gap -= 1
            while todo and gap <= 0:
                kind = todo.popleft()
                gap = self._gap(rng)
                if kind == "out_of_order":
                    want_hold = True
                    break
                yield self._extra(kind, last, rng)
        if held is not None:
            yield held
            last = held
        if held is not None or want_hold:
            todo.appendleft("out_of_order")
        if todo and last is None:
            raise FaultPlanError("no messages to inject faults into")
        for kind in todo:
            if kind == "out_of_order":
                raise FaultPlanError("stream ended before an out-of-order swap found a partner")
            assert last is not None
            yield self._extra(kind, last, rng)

    def _gap(self, rng: np.random.Generator) -> int:
        return int(rng.integers(1, 2 * self.spacing + 1))

    def _record(
        self, kind: str, msg: OutMessage, detail: str, payload: bytes | None = None
    ) -> None:
        self.injected.append(InjectedFault(kind, msg.topic, msg.device_id, detail, payload))

    def _extra(self, kind: str, last: OutMessage, rng: np.random.Generator) -> OutMessage:
        if kind == "duplicates":
            self._record(kind, last, "resent", last.payload)
            return last
        reading = _first_reading(last)
        if kind == "malformed":
            variant = len([f for f in self.injected if f.kind == "malformed"]) % 4
            payload, detail = _malformed(variant, last, reading)
            self._record(kind, last, detail, payload)
            return replace(last, payload=payload, readings=1)
        if kind == "clock_skew":
            # A device clock running ahead: receipt time plus skew_s, in the member's zone.
            skewed = datetime.now(CST) + timedelta(seconds=self.plan.skew_s)
            reading = dict(reading, t=skewed.isoformat(timespec="seconds"))
            payload = json.dumps(reading, separators=(",", ":")).encode()
            self._record(kind, last, f"t={reading['t']}", payload)
            epoch = int(skewed.timestamp())
            return replace(last, payload=payload, readings=1, first_t=epoch, last_t=epoch)
        # unknown device: a valid reading on a topic nobody registered
        prefix = last.topic.rsplit("/", 2)[0]
        dev = f"unknown-{int(rng.integers(0, 2**32)):08x}"
        payload = json.dumps(reading, separators=(",", ":")).encode()
        msg = replace(
            last, topic=topic(prefix, dev, last.kind), device_id=dev, payload=payload, readings=1
        )
        self._record(kind, msg, "unregistered device", payload)
        return msg


def _first_reading(msg: OutMessage) -> dict[str, Any]:
    doc = json.loads(msg.payload)
    items = doc["readings"] if isinstance(doc, dict) and "readings" in doc else doc
    item = items[0] if isinstance(items, list) else items
    if "body" in item:  # Open mHealth: fall back to an equivalent compact reading
        return _omh_to_compact(item["body"], msg.kind)
    return dict(item)


def _omh_to_compact(body: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "bp":
        return {
            "t": body["effective_time_frame"]["date_time"],
            "sys": body["systolic_blood_pressure"]["value"],
            "dia": body["diastolic_blood_pressure"]["value"],
        }
    if kind == "glucose":
        return {
            "t": body["effective_time_frame"]["date_time"],
            "v": body["blood_glucose"]["value"],
            "u": body["blood_glucose"]["unit"],
            "m": "cgm" if body.get("specimen_source") == "interstitial fluid" else "smbg",
        }
    frame = body["effective_time_frame"]["time_interval"]
    return {"t": frame["start_date_time"], "dur": 3600, "steps": body["step_count"]["value"]}


def _malformed(variant: int, msg: OutMessage, reading: dict[str, Any]) -> tuple[bytes, str]:
    text = json.dumps(reading, separators=(",", ":"))
    if variant == 0:
        return text[: max(1, len(text) // 2)].encode(), "truncated JSON"
    if variant == 1:
        return b"\xff\xfe" + text.encode()[2:], "not UTF-8"
    if variant == 2:
        broken = {k: v for k, v in reading.items() if k != "t"}
        return json.dumps(broken).encode(), "reading without its timestamp"
    key = {"bp": "sys", "glucose": "u", "activity": "steps"}[msg.kind]
    broken = dict(reading)
    broken[key] = {"bp": "one-forty", "glucose": "furlongs", "activity": "many"}[msg.kind]
    return json.dumps(broken).encode(), f"{key} of the wrong type or unit"
