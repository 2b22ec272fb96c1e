"""Pricing's domain errors: :mod:`core.errors` subclasses, so pricing needs nothing from HTTP.

The API's one handler renders each as problem+json with its suggested status and code; the
CLI, the demo and the benchmarks print its detail.
"""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, NotFound


class RulebookInvalid(InvalidInput):
    """A rulebook file fails validation; ``errors`` name each field path."""

    code = "rulebook-invalid"
    title = "Invalid rulebook"


class RulebookNotFound(NotFound):
    """No rulebook exists for this product and plan year."""

    code = "rulebook-not-found"
    title = "No rulebook"


class RulebookLocked(Conflict):
    """The plan year's rulebook has issued quotes and cannot change any more."""

    code = "rulebook-locked"
    title = "Rulebook locked"


class MemberNotFound(NotFound):
    """The member to quote does not exist."""

    code = "member-not-found"
    title = "No such member"


class InvalidWhatIf(InvalidInput):
    """A what-if override names an unknown indicator or holds an impossible value."""

    code = "invalid-what-if"
    title = "Invalid what-if"


class UnknownMembers(InvalidInput):
    """An upload names members that do not exist (rows are named in ``errors``)."""

    code = "unknown-members"
    title = "Unknown members"


class BatchNotFound(NotFound):
    """No batch job has this id."""

    code = "batch-not-found"
    title = "No such batch job"


class NoRiskModel(Conflict):
    """The discount-budget check needs a registered risk model and there is none yet."""

    code = "no-risk-model"
    title = "No risk model"


__all__ = [
    "BatchNotFound",
    "InvalidWhatIf",
    "MemberNotFound",
    "NoRiskModel",
    "RulebookInvalid",
    "RulebookLocked",
    "RulebookNotFound",
    "UnknownMembers",
]


class NoEffectData(Conflict):
    """The effect report needs a drawn holdout with enrolled members; there is none."""

    code = "no-effect-data"
    title = "No holdout to measure against"
