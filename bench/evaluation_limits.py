"""What the run-time limits cost a render or a condition, and how long hostile shapes run before they stop.

Overhead: typical message templates and trigger conditions, evaluated through
orchestrator.language.templating (sizes checked, steps counted) against the same
source in Jinja's own ImmutableSandboxedEnvironment with the same filters and
none of the metering (the floor). Both sides take turns, best of `--rounds`
rounds each; the ratio metered/floor is the share the limits add (1.0: nothing).

Hostile shapes: templates and conditions whose cost an event chooses (nested
loops over a 30,000-item list, a macro fanning out, filters reading a 60,000
character property every turn...), each timed until the step limit or the value
limit stops it. The steps are counted, not timed; this is how long a stopped
evaluation holds its thread on this machine (orchestrator/language/run_limits.py
says what a step is, and why each kind costs Python about a microsecond at most).

Run: .venv/bin/python bench/evaluation_limits.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.language.run_limits import LimitExceeded
from orchestrator.language.scope import JourneyInScope, expression_scope
from orchestrator.language.templating import is_true, render
from orchestrator.personalization.filters import FILTERS

ITEMS = [{"name": f"item {i}", "price": 9.5 + i, "qty": 2} for i in range(10)]
SCOPE = expression_scope(
    {"id": "c-1", "first_name": "Ann", "country": "US", "age": 31, "plan": "pro"},
    {"cart_value": 42, "cart_url": "https://shop.example/c/1", "items": ITEMS},
    JourneyInScope("cart", "v1", "reminder"),
)
TEMPLATES = {
    "subject": "{{ customer.first_name | default('Hi') }}, you left something behind",
    "body": '<p>Your cart of {{ event.cart_value }} is waiting.</p><a href="{{ event.cart_url }}">Back to it</a>',
    "receipt, 10 lines": (
        "<table>{% for item in event['items'] %}<tr><td>{{ loop.index }}</td><td>{{ item.name | title }}</td>"
        "<td>{{ item.price | currency('USD') }}</td><td>{{ item.qty }}</td></tr>{% endfor %}</table>"
        "{% if customer.plan == 'pro' %}Thanks, pro!{% endif %}"
    ),
}
CONDITIONS = {
    "where": "event.cart_value >= 20",
    "audience": "customer.country in ['US', 'CA'] and customer.age >= 18",
}

HOSTILE_SCOPE = expression_scope(
    {"id": "c-1"},
    {"n": 10**9, "list": list(range(30_000)), "big": "x" * 60_000, "items": [{"price": i} for i in range(30_000)]},
    JourneyInScope("bench", "v1", "step"),
)
HOSTILE = {
    "nested loops, 30,000 x 30,000": "{% for a in event.list %}{% for b in event.list %}{{ b }}{% endfor %}{% endfor %}",
    "nested loops, a lookup and a comparison": (
        "{% for a in event['items'] %}{% for b in event['items'] %}{% if b.price < 0 %}.{% endif %}{% endfor %}{% endfor %}"
    ),
    "macro fanning out, 2^40 calls": "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
    "recursive loop over the list": (
        "{% for i in event.list recursive %}{% if loop.depth < 3 %}{{ loop(event.list) }}{% endif %}{% endfor %}"
    ),
    "loop.index in nested loops": "{% for a in event.list %}{% for b in event.list %}{% set i = loop.index %}{% endfor %}{% endfor %}",
    "count over 60,000 characters a turn": "{% for i in range(100000) %}{{ event.big.count('x') }}{% endfor %}",
    "max of the list a turn": "{% for i in range(100000) %}{% if (event.list | max) < 0 %}.{% endif %}{% endfor %}",
    "groupby of the list a turn": "{% for i in range(100) %}{% set g = event['items'] | groupby('price') %}{% endfor %}",
    "selectattr of the list a turn": (
        "{% for i in range(100) %}{% set s = event['items'] | selectattr('price', 'lt', 0) | list %}{% endfor %}"
    ),
    "currency a turn": "{% for a in event.list %}{% for b in event.list %}{{ b | currency('USD') }}{% endfor %}{% endfor %}",
    "'x' * event.n": "{{ 'x' * event.n }}",
    "replace('', big) on big": "{{ event.big | replace('', event.big) }}",
}


def floor_environment() -> ImmutableSandboxedEnvironment:
    """Jinja's own sandbox with the journey filters: what the templates cost with no limit at all."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    env.filters.update(FILTERS)
    return env


def side_by_side(floor: Callable[[], Any], metered: Callable[[], Any], number: int, rounds: int) -> tuple[float, float]:
    """The best time of each side a call, the two taking turns so that load from elsewhere weighs on both."""
    floor_s = metered_s = float("inf")
    for _ in range(rounds):
        floor_s = min(floor_s, timeit.timeit(floor, number=number) / number)
        metered_s = min(metered_s, timeit.timeit(metered, number=number) / number)
    return floor_s, metered_s


def overhead(rounds: int) -> None:
    floor = floor_environment()
    print("| what | floor (Jinja's sandbox) | metered | ratio |")
    print("|---|---|---|---|")
    for name, source in TEMPLATES.items():
        template = floor.from_string(source)
        template.globals = dict(template.globals)  # as templating's compiled templates are (it says why)
        number = 100 if "receipt" in name else 1_000
        floor_s, metered_s = side_by_side(
            lambda: template.render(**SCOPE),  # noqa: B023
            lambda: render(source, SCOPE, html=True),  # noqa: B023
            number,
            rounds,
        )
        print(f"| render {name} | {floor_s * 1e6:.1f} us | {metered_s * 1e6:.1f} us | {metered_s / floor_s:.2f} |")
    for name, source in CONDITIONS.items():
        expression = floor.compile_expression(source)
        floor_s, metered_s = side_by_side(lambda: bool(expression(**SCOPE)), lambda: is_true(source, SCOPE), 2_000, rounds)  # noqa: B023
        print(f"| condition {name} | {floor_s * 1e6:.1f} us | {metered_s * 1e6:.1f} us | {metered_s / floor_s:.2f} |")


def hostile() -> None:
    print()
    print("| hostile shape | stopped after | by |")
    print("|---|---|---|")
    for name, source in HOSTILE.items():
        started = time.perf_counter()
        try:
            render(source, HOSTILE_SCOPE)
            outcome = "nothing: it rendered"
        except LimitExceeded as exc:
            outcome = "the step limit" if "steps" in str(exc) else "the value limit"
        print(f"| {name} | {time.perf_counter() - started:.3f} s | {outcome} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # each stopped evaluation logs a warning; not what is measured
    overhead(args.rounds)
    hostile()


if __name__ == "__main__":
    main()
