"""The public MQTT payload format, shared by devices (``device_sim``) and ``ingest``.

Topic: ``<prefix>/<device_id>/<kind>`` with kind one of :data:`KINDS`.

Payload: UTF-8 JSON, at most ``WELLRATE_INGEST_MAX_PAYLOAD_BYTES``. Either one reading
object, a JSON array of them, or ``{"readings": [...]}`` (devices buffer while offline and
send a batch on reconnect). Each reading is either the compact form below or an Open mHealth
data point (``{"header": {"schema_id": {...}}, "body": {...}}`` or a bare body) of schema
``blood-pressure`` 4.0, ``blood-glucose`` 4.0 or ``step-count`` 3.0.

Compact readings (``t`` is ISO 8601 **with** a UTC offset; the offset is kept so
"morning" means the member's local morning):

* ``bp``: ``{"t", "sys", "dia", "pulse"?}`` in mmHg.
* ``glucose``: ``{"t", "v", "u", "m", "meal"?}``: ``v`` a number, or ``"LO"``/``"HI"`` for
  a censored reading; ``u`` ``"mg/dL"`` or ``"mmol/L"``; ``m`` ``"cgm"`` or ``"smbg"``;
  ``meal`` one of :data:`MEAL_CONTEXTS`.
* ``activity``: ``{"t", "dur", "steps", "active_min"?, "vig_min"?, "hr"?}``: ``t`` the
  interval start, ``dur`` seconds, ``active_min`` moderate-or-vigorous minutes,
  ``vig_min`` the vigorous part of them, ``hr`` mean heart rate.

The AsyncAPI document (``docs/asyncapi.yaml``) is the formal description.
"""

from __future__ import annotations

from typing import Final, Literal, NotRequired, TypedDict

Kind = Literal["bp", "glucose", "activity"]
KINDS: Final[tuple[Kind, ...]] = ("bp", "glucose", "activity")

# Open mHealth temporal_relationship_to_meal values, spaces replaced by underscores.
MEAL_CONTEXTS: Final = (
    "fasting",
    "not_fasting",
    "before_breakfast",
    "after_breakfast",
    "before_lunch",
    "after_lunch",
    "before_dinner",
    "after_dinner",
    "before_meal",
    "after_meal",
    "before_sleep",
    "2_hours_postprandial",
)
# Accepted and stored, but neither fasting nor postprandial (Open mHealth "with meal",
# "with food"): the scoring rules classify only MEAL_CONTEXTS.
UNCLASSIFIED_MEAL_CONTEXTS: Final = ("with_meal", "with_food")


class CompactBP(TypedDict):
    t: str
    sys: int
    dia: int
    pulse: NotRequired[int]


class CompactGlucose(TypedDict):
    t: str
    v: float | str
    u: str
    m: str
    meal: NotRequired[str]


class CompactActivity(TypedDict):
    t: str
    dur: int
    steps: int
    active_min: NotRequired[int]
    vig_min: NotRequired[int]
    hr: NotRequired[int]


def topic(prefix: str, device_id: str, kind: Kind) -> str:
    """The topic a device publishes ``kind`` readings on."""
    return f"{prefix}/{device_id}/{kind}"
