"""What an expression or template may cost when it runs on data: values capped before they are built, steps counted."""

from __future__ import annotations

import logging

import pytest
from jinja2.sandbox import SecurityError

from orchestrator.language.run_limits import STEP_LIMIT, VALUE_LIMIT, LimitExceeded
from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.templating import evaluate, render

BIG = "x" * 60_000
"""A property near the 64 KiB an event may carry."""
LIST = list(range(30_000))
"""An event's list of 30,000 items."""

SCOPE = expression_scope(
    {"id": "c-1", "name": "Ann", "email": "ann@example.com"},
    {"n": 10**9, "s": "ab", "a": 2, "b": 10**9, "fmt": "%0999999999d", "w": 10**9, "big": BIG, "list": LIST, "tab": "\t" * 100},
    JourneyInScope("cart", "v1", "pick"),
)

VALUE_REFUSED = f"more than the {VALUE_LIMIT} one value may hold"
STEPS_REFUSED = f"more than {STEP_LIMIT} steps"


@pytest.mark.parametrize(
    ("expression", "built"),
    [
        ("'x' * event.n", "`*` would build 1000000000 characters"),
        ("event.s * event.n", "`*` would build 2000000000 characters"),
        ("[0] * event.n", "`*` would build 1000000000 items"),
        ("event.a ** event.b", "`**` would build 301029996 digits"),
        ("event.fmt % 1", "`%` would build"),
        ("'%*d' % (event.n, 1)", "`%` would build"),
        ("'%(big)s%(big)s' % event", "`%` would build 120014 characters"),
        ("event.fmt | format(1)", "the filter format would build"),
        ("customer.name | center(event.w)", "the filter center would build 1000000000 characters"),
        ("customer.name | indent(event.w)", "the filter indent would build"),
        ("event.big | wordwrap(1, wrapstring=event.big)", "the filter wordwrap would build"),
        ("event.big | replace('', event.big)", "the filter replace would build 3600120000 characters"),
        ("event.list | join(event.big)", "the filter join would build 1799940000 characters"),
        ("event.list | batch(event.n, 0) | list", "the filter batch would build"),
        ("event.list | slice(event.n) | list", "the filter slice would build 1000000000 slices"),
        ("event.list | tojson(event.w)", "the filter tojson would build"),
        ("event.list | map('center', event.w) | list", "the filter center would build 1000000000 characters"),
        ("customer.name.center(event.w)", "center(...) would build 1000000000 characters"),
        ("customer.name.ljust(event.w)", "ljust(...) would build"),
        ("customer.name.rjust(event.w)", "rjust(...) would build"),
        ("customer.name.zfill(event.w)", "zfill(...) would build"),
        ("event.big.replace('', event.big)", "replace(...) would build 3600120000 characters"),
        ("event.big.join(event.list | map('string'))", "join(...) would build"),
        ("event.tab.expandtabs(event.w)", "expandtabs(...) would build"),
        ("(1).to_bytes(event.n, 'big')", "to_bytes(...) would build 1000000000 bytes"),
        ("event.big ~ event.big", "`~` would build 120000 characters"),
        ("event.big + event.big", "`+` would build 120000 characters"),
        ("event.list | map('string') | map('list') | sum(start=[])", "the filter sum would build 138890 items"),
    ],
)
def test_a_value_built_from_data_is_refused_before_it_is_built(expression: str, built: str) -> None:
    with pytest.raises(LimitExceeded) as refused:
        evaluate(expression, SCOPE)
    assert built in str(refused.value) and VALUE_REFUSED in str(refused.value)
    assert "docs/language.md, 'Limits'" in str(refused.value)


def test_a_template_building_an_oversized_value_fails_its_render_the_same_way() -> None:
    with pytest.raises(LimitExceeded, match="center"):
        render("Hi {{ customer.name | center(event.w) }}", SCOPE)
    with pytest.raises(LimitExceeded, match=r"`\*` would build"):
        render("{% set line = '-' * event.n %}{{ line }}", SCOPE)


def test_a_value_as_large_as_the_limit_builds_and_one_more_is_refused() -> None:
    assert len(evaluate("'x' * (event.n // 10000)", {**SCOPE, "event": {"n": VALUE_LIMIT * 10000}})) == VALUE_LIMIT
    with pytest.raises(LimitExceeded, match=VALUE_REFUSED):
        evaluate("'x' * (event.n // 10000)", {**SCOPE, "event": {"n": (VALUE_LIMIT + 1) * 10000}})
    assert evaluate("customer.name | center(9)", SCOPE) == "   Ann   "
    assert evaluate("event.list[:3] | join(', ')", SCOPE) == "0, 1, 2"
    assert evaluate("[[1, 2], [3]] | sum(start=[])", SCOPE) == [1, 2, 3]


def test_str_format_reached_through_an_item_lookup_is_refused_as_the_compiler_refuses_format() -> None:
    with pytest.raises(SecurityError, match=r"str\.format is not available"):
        evaluate("'{:>999999999}'['format'](1)", SCOPE)


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in event.list %}{% for b in event.list %}{% endfor %}{% endfor %}",
        "{% for a in event.list %}{% for b in event.list %}{{ b }}{% endfor %}{% endfor %}",
        "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
        "{% for i in range(100000) %}{{ event.big.count('x') }}{% endfor %}",
        "{% for i in range(100000) %}{% if (event.list | max) < 0 %}.{% endif %}{% endfor %}",
        "{% for i in event.list %}{% if event.big == event.big %}{% endif %}{% endfor %}",
        "{% for i in event.list recursive %}{% if loop.depth < 3 %}{{ loop(event.list) }}{% endif %}{% endfor %}",
    ],
)
def test_a_render_that_would_take_more_than_the_step_limit_stops_there(template: str) -> None:
    with pytest.raises(LimitExceeded, match=STEPS_REFUSED):
        render(template, SCOPE)


def test_an_expression_reading_a_list_too_often_stops_at_the_step_limit() -> None:
    with pytest.raises(LimitExceeded, match=f"this expression took {STEPS_REFUSED}"):
        evaluate("range(100000) | map('string') | map('center', 20) | join | length", SCOPE)


def test_a_message_is_at_most_the_step_limit_in_characters() -> None:
    fits = STEP_LIMIT // (len(BIG) + 10)
    assert len(render("{% for i in range(N) %}{{ event.big }}{% endfor %}".replace("N", str(fits)), SCOPE)) == fits * len(BIG)
    with pytest.raises(LimitExceeded, match=STEPS_REFUSED):
        render("{% for i in range(N) %}{{ event.big }}{% endfor %}".replace("N", str(fits + 1)), SCOPE)


def test_the_templates_own_text_counts_each_time_a_loop_writes_it() -> None:
    text = "y" * 50_000
    assert render("{% for i in range(19) %}" + text + "{% endfor %}", SCOPE).count("y") == 19 * len(text)
    with pytest.raises(LimitExceeded, match=STEPS_REFUSED):
        render("{% for i in range(21) %}" + text + "{% endfor %}", SCOPE)


def test_a_macro_calling_itself_forever_is_a_limit_not_an_internal_error() -> None:
    with pytest.raises(LimitExceeded, match="nests calls deeper than Python allows"):
        render("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", SCOPE)


def test_the_count_is_exact_so_the_same_template_and_data_give_the_same_answer_every_time() -> None:
    # Nested loops over the first k items: each loop reads `event.list` (a lookup), slices it (a lookup and k items
    # built) and turns k times, so 2 + 2k steps for the outer loop and k times 2 + 2k for the inner: 2 + 4k + 2k².
    nested = "{% for a in event.list[:K] %}{% for b in event.list[:K] %}{% endfor %}{% endfor %}"
    assert 2 + 4 * 706 + 2 * 706**2 <= STEP_LIMIT < 2 + 4 * 707 + 2 * 707**2
    for _ in range(3):
        assert render(nested.replace("K", "706"), SCOPE) == ""
        with pytest.raises(LimitExceeded, match=STEPS_REFUSED):
            render(nested.replace("K", "707"), SCOPE)


def test_a_condition_at_a_limit_is_false_and_logged_once_without_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="orchestrator.language.run_limits")
    assert holds("event.list | join(event.big) | length > 0", SCOPE) is False
    (record,) = [r for r in caplog.records if r.name == "orchestrator.language.run_limits"]
    assert "journey id cart, version v1, step pick" in record.getMessage() and "the filter join would build" in record.getMessage()
    assert not any(secret in record.getMessage() for secret in ("c-1", "Ann", "ann@example.com", BIG[:100]))


def test_a_loop_over_a_thousand_items_renders_where_two_nested_over_thirty_thousand_stop() -> None:
    items = [{"name": f"item {i}", "price": i + 0.5} for i in range(1000)]
    scope = expression_scope({"id": "c-1"}, {"items": items, "list": LIST}, JourneyInScope("cart", "v1", "pick"))
    body = render(
        "{% for item in event['items'] %}{{ loop.index }}. {{ item.name | title }}: {{ item.price | currency('USD') }}\n{% endfor %}",
        scope,
    )
    assert body.splitlines()[0] == "1. Item 0: $0.50" and body.splitlines()[-1] == "1000. Item 999: $999.50"
    with pytest.raises(LimitExceeded, match=STEPS_REFUSED):
        render("{% for a in event.list %}{% for b in event.list %}{{ b }}{% endfor %}{% endfor %}", scope)
