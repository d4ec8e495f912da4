"""Who a simulated customer is and whom they log in as: the rules a customer file and its events must keep.

`journey simulate` (its customer and events files) and `journey test` (each case's customer, merged over
the file's, and its events) check them alike, and locate each problem in their own files. The rules follow
the API's (docs/api.md, "Anonymous visitors"):
- a customer is known (`id`) or an anonymous visitor (`anonymous_id`, Segment's `anonymousId`), not both;
- only an `identify` logs a visitor in, with `user_id`, the known customer they become: their anonymous
  profile merges into it (orchestrator/store/identities.py);
- no known customer's id begins with `anonymous:`, which names anonymous profiles;
- a known customer has no visitor to log in, and a visitor merges into one known customer only (a second,
  different `user_id` is the API's merge conflict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.simulation.script import IDENTIFY
from orchestrator.store.identities import ANONYMOUS_PREFIX

Where = tuple[str | int, ...]


@dataclass(frozen=True)
class ScriptProblem:
    """One broken rule: where, as a path (`("customer", "anonymous_id")` or `("events", 3, "user_id")`), and what."""

    where: Where
    message: str


def script_problems(customer: Mapping[str, Any], events: Sequence[Any]) -> list[ScriptProblem]:
    """Every rule of the module docstring that `customer` (a customer file) and `events` (its events, as written) break."""
    problems: list[ScriptProblem] = []
    anonymous = customer.get("anonymous_id")
    if anonymous is not None and (not isinstance(anonymous, str) or not anonymous.strip()):
        problems.append(ScriptProblem(("customer", "anonymous_id"), "is the visitor's anonymousId: a non-empty string"))
    elif anonymous is not None and customer.get("id") is not None:
        problems.append(
            ScriptProblem(
                ("customer", "anonymous_id"),
                "a customer is known (`id`) or an anonymous visitor (`anonymous_id`), not both: give the visitor `anonymous_id` "
                "alone, and log them in with an identify's `user_id`",
            )
        )
    first: tuple[int, str] | None = None
    """The first login: its event's number and the customer it logs in as."""
    for number, event in enumerate(events):
        if not isinstance(event, Mapping) or event.get("user_id") is None:
            continue
        message = _login_problem(event, anonymous is not None, first)
        if message is not None:
            problems.append(ScriptProblem(("events", number, "user_id"), message))
        elif first is None:
            first = (number, event["user_id"])
    return problems


def _login_problem(event: Mapping[str, Any], anonymous: bool, first: tuple[int, str] | None) -> str | None:
    """What is wrong with an event's `user_id`, or None: it logs the visitor in (again, as the same customer)."""
    user_id = event["user_id"]
    if event.get("event") != IDENTIFY:
        return "only an identify logs a visitor in: put `user_id` on an `event: identify`"
    if not isinstance(user_id, str) or not user_id.strip():
        return "is the known customer the visitor logs in as: a non-empty string"
    if user_id.startswith(ANONYMOUS_PREFIX):
        return f"{user_id!r}: `{ANONYMOUS_PREFIX}` begins anonymous profiles' ids, never a known customer's"
    if not anonymous:
        return "logs an anonymous visitor in, but the customer has no `anonymous_id`: give them one instead of `id`"
    if first is not None and first[1] != user_id:
        return f"the visitor logged in as {first[1]!r} (events[{first[0]}]): an anonymous profile merges into one customer only"
    return None
