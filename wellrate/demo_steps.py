"""What the demo's steps share: the product and plan year it quotes, and the list of steps
done that it prints at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

PRODUCT, PLAN_YEAR = "demo-city", 2027


@dataclass
class Steps:
    """What ran, printed at the end."""

    done: list[str] = field(default_factory=list)


def say(text: str) -> None:
    print(text, flush=True)
