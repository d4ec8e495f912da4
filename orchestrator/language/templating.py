"""The one Jinja2 sandbox used for journey expressions and message templates.

The compiler uses it to parse and statically check every expression and
template before a journey ships; the runtime uses the same environment to
evaluate and render them. Untrusted text (marketer templates, event payloads)
never executes code: the environment is Jinja's ImmutableSandboxedEnvironment,
undefined values are errors (`MissingInTemplate`), and the compiler additionally
rejects the well-known sandbox-escape shapes outright, so a pull request that
contains one fails validation instead of relying on the sandbox at run time.

Expressions run in a sibling of that sandbox where a missing value is `none`
rather than an error (orchestrator/language/missing_values.py says why and
what comparisons then give); templates stay strict. Both run under the
run-time bounds of orchestrator/language/run_limits.py: each evaluation and
render has a budget of steps, and no value built from data may exceed
VALUE_LIMIT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.parser import Parser

from orchestrator.language.literal_limits import too_large
from orchestrator.language.metering import MeteredSandbox, metered_filters, metered_range, metered_tests
from orchestrator.language.missing_values import MissingInTemplate, MissingValue, compare, is_none
from orchestrator.language.run_limits import LOCALE_FILTER_STEPS, metered, spend
from orchestrator.personalization.filters import FILTERS, LOCALITY_KEY
from orchestrator.personalization.locales import Locality

AWAITED_EVENTS = "events"
"""The name of the events `wait_for` steps matched: `events.<wait_for step id>` (orchestrator/language/scope.py)."""

SCOPE: tuple[str, ...] = ("customer", "event", AWAITED_EVENTS, "journey")
"""Names every expression and template can read."""

ENTRY_SCOPE: tuple[str, ...] = tuple(name for name in SCOPE if name != AWAITED_EVENTS)
"""Names the trigger's `where` and `segment` and `entry.audience` read: no step has run, so no `wait_for` has matched."""

WEBHOOK_SCOPE: tuple[str, ...] = (*SCOPE, "secrets")
"""Webhook templates can also read `secrets.NAME` (JOURNEY_SECRET_NAME in the worker's environment)."""

MESSAGE_SCOPE: tuple[str, ...] = (*SCOPE, "unsubscribe_url")
"""Message templates (send subject, body, template files...) can also read `unsubscribe_url`."""

JOURNEY_FIELDS: tuple[str, ...] = ("id", "version", "step")
"""What `journey` holds wherever the enrollment is at a step (orchestrator/language/scope.py says which step)."""

ENTRY_JOURNEY_FIELDS: tuple[str, ...] = ("id", "version")
"""What `journey` holds in the trigger's `where` and `segment` and in `entry.audience`: no step has run yet."""

# Attribute names that reach Python internals. The sandbox blocks them at run
# time; the compiler refuses them earlier so reviewers never see one merge.
_UNSAFE_ATTRIBUTES = frozenset(
    {
        "mro",
        "format",
        "format_map",
        "func_globals",
        "func_code",
        "f_globals",
        "f_locals",
        "f_builtins",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "ag_code",
    }
)
_UNSAFE_FILTERS = frozenset({"attr"})
# Names that are globals in plain Jinja (lipsum, cycler, joiner, namespace, self) or in
# Flask and other frameworks (config, request...): the usual first step of an escape.
# The sandbox has none of them; naming one is refused as unsafe, not merely unknown.
_UNSAFE_NAMES = frozenset(
    {"lipsum", "cycler", "joiner", "namespace", "self", "config", "request", "session", "g", "url_for", "get_flashed_messages"}
)
_TEMPLATE_NAMES = frozenset({"loop", "caller", "varargs", "kwargs"})


class JourneySandbox(MeteredSandbox):
    """The sandbox, under the run-time bounds (orchestrator/language/run_limits.py), and `x.name` on a mapping reads the key first.

    Jinja looks up attributes before keys, so `event.items` or `customer.values`
    would return dict methods instead of the marketer's data. Profiles and
    events are mappings of data, so their keys win.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            spend(1)  # a key's lookup, as `getitem` counts it
            return obj[attribute]
        return super().getattr(obj, attribute)


class ExpressionSandbox(JourneySandbox):
    """The sandbox expressions run in: a missing value is `none`, and comparisons with `none` are false.

    orchestrator/language/missing_values.py holds the rules; this class only wires them in.
    """

    compare_values = staticmethod(compare)


def make_environment(*, autoescape: bool = False, expressions: bool = False) -> JourneySandbox:
    """A fresh sandbox with no globals (no `lipsum`, `cycler`, `namespace`...).

    Templates get a strict undefined (`MissingInTemplate`); `expressions=True` gives the sandbox expressions run in.
    """
    env: JourneySandbox
    if expressions:
        env = ExpressionSandbox(undefined=MissingValue, autoescape=autoescape)
        env.tests["none"] = is_none
    else:
        env = JourneySandbox(undefined=MissingInTemplate, autoescape=autoescape)
    env.globals.clear()
    # A capped `range` (at most RANGE_LIMIT numbers), not Python's: clearing the globals removed
    # Jinja's, and an uncapped `range(event.n)` lets whoever sends the event choose the cost.
    env.globals["range"] = metered_range
    for name in _UNSAFE_FILTERS:
        env.filters.pop(name, None)
    env.filters.update(FILTERS)
    env.filters = metered_filters(env, env.filters, {name: LOCALE_FILTER_STEPS for name in FILTERS})
    env.tests = metered_tests(env.tests)
    return env


ENVIRONMENT = make_environment()


@dataclass(frozen=True)
class TemplateProblem:
    """A problem in one expression or template; `lineno` is 1-based within its text."""

    rule: str
    message: str
    lineno: int


def _parse_expression(source: str) -> nodes.Template:
    parser = Parser(ENVIRONMENT, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected '{token.value}' after the expression", token.lineno)
    tree = nodes.Template([nodes.Output([expr], lineno=1)], lineno=1)
    tree.set_environment(ENVIRONMENT)
    return tree


def _unsafe_reason(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        if node.attr.startswith("_") or node.attr in _UNSAFE_ATTRIBUTES:
            return f"attribute '{node.attr}' is not allowed"
    elif isinstance(node, nodes.Name):
        if node.name.startswith("_"):
            return f"name '{node.name}' is not allowed"
        if node.name in _UNSAFE_NAMES and node.ctx == "load":
            return f"name '{node.name}' is a Jinja or framework global, which journey templates do not have"
    elif isinstance(node, nodes.Const):
        if isinstance(node.value, str) and node.value.startswith("__"):
            return f"'{node.value}' looks like a Python internal and is not allowed"
    elif isinstance(node, nodes.Filter) and node.name in _UNSAFE_FILTERS:
        return f"filter '{node.name}' is not allowed"
    elif isinstance(node, nodes.Include | nodes.Extends | nodes.Import | nodes.FromImport):
        return "include, extends and import are not available in journey templates; inline the text"
    return None


def _check_ast(tree: nodes.Template, scope: tuple[str, ...], *, expression: bool, journey_fields: tuple[str, ...]) -> list[TemplateProblem]:
    what = "expression" if expression else "template"
    problems: list[TemplateProblem] = []
    for node in tree.find_all(nodes.Node):
        reason = _unsafe_reason(node)
        if reason:
            problems.append(TemplateProblem("unsafe-template", f"{what}: {reason} (sandbox)", node.lineno))
        if isinstance(node, nodes.Filter) and node.name not in _UNSAFE_FILTERS and node.name not in ENVIRONMENT.filters:
            problems.append(TemplateProblem("unknown-filter", f"{what}: no filter named '{node.name}'", node.lineno))
        if isinstance(node, nodes.Test) and node.name not in ENVIRONMENT.tests:
            problems.append(TemplateProblem("unknown-filter", f"{what}: no test named '{node.name}'", node.lineno))
    for lineno, message in too_large(tree):
        problems.append(TemplateProblem("unsafe-template", f"{what}: {message} (a literal this large stalls the worker)", lineno))
    # Names a template binds itself ({% for x in ... %}, {% set %}, macro parameters) are not inputs.
    read = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx != "load"} | _TEMPLATE_NAMES
    unknown = read - bound - set(scope) - set(ENVIRONMENT.globals)
    for name in sorted(unknown):
        if name.startswith("_") or name in _UNSAFE_NAMES:
            continue  # already reported as unsafe
        first = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), 1)
        if name == AWAITED_EVENTS:
            message = f"{what}: there are no `events` here, where no step has run yet, so no wait_for has matched"
            problems.append(TemplateProblem("no-awaited-events", message, first))
            continue
        problems.append(
            TemplateProblem(
                "unknown-variable",
                f"{what}: unknown name '{name}'; in scope: {', '.join(scope)}",
                first,
            )
        )
    for field, lineno in _journey_fields_read(tree):
        if field in JOURNEY_FIELDS and field not in journey_fields:
            held = ", ".join(journey_fields)
            message = f"{what}: there is no `journey.{field}` here, where no step has run yet; `journey` holds {held}"
            problems.append(TemplateProblem("no-journey-step", message, lineno))
    return problems


def _journey_fields_read(tree: nodes.Template) -> list[tuple[str, int]]:
    """The fields read as `journey.name` or `journey['name']`, with their lines."""
    found: list[tuple[str, int]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == "journey" and target.ctx == "load"):
            continue
        if isinstance(node, nodes.Getattr):
            found.append((node.attr, node.lineno))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.append((node.arg.value, node.lineno))
    return found


@cache
def check_expression(
    source: str, scope: tuple[str, ...] = SCOPE, *, journey_fields: tuple[str, ...] = JOURNEY_FIELDS
) -> tuple[TemplateProblem, ...]:
    """Problems in a Jinja2 expression such as `customer.age >= 18`; empty when it is fine.

    `journey_fields`: what `journey` holds where the expression is read (ENTRY_JOURNEY_FIELDS before any step).
    """
    try:
        tree = _parse_expression(source)
        return tuple(_check_ast(tree, scope, expression=True, journey_fields=journey_fields))
    except TemplateSyntaxError as exc:
        return (TemplateProblem("expression-syntax", f"expression does not parse: {exc.message}", exc.lineno or 1),)
    except RecursionError:
        return (TemplateProblem("expression-syntax", "expression nests too deeply; simplify it", 1),)


@cache
def check_template(source: str, scope: tuple[str, ...] = SCOPE) -> tuple[TemplateProblem, ...]:
    """Problems in a Jinja2 template such as `Hi {{ customer.first_name }}`; empty when it is fine."""
    try:
        tree = ENVIRONMENT.parse(source)
        return tuple(_check_ast(tree, scope, expression=False, journey_fields=JOURNEY_FIELDS))
    except TemplateSyntaxError as exc:
        return (TemplateProblem("template-syntax", f"template does not parse: {exc.message}", exc.lineno or 1),)
    except RecursionError:
        return (TemplateProblem("template-syntax", "template nests too deeply; simplify it", 1),)


def syntax_tree(source: str, *, expression: bool) -> nodes.Template | None:
    """The parsed expression or template, as the checks read it; None when it does not parse (`check_*` reports why)."""
    try:
        return _parse_expression(source) if expression else ENVIRONMENT.parse(source)
    except (TemplateSyntaxError, RecursionError):
        return None


@cache
def reads_event(source: str, *, expression: bool) -> bool:
    """Whether an expression or template reads the `event` variable."""
    try:
        tree = _parse_expression(source) if expression else ENVIRONMENT.parse(source)
    except (TemplateSyntaxError, RecursionError):
        return False
    return any(n.name == "event" for n in tree.find_all(nodes.Name))


HTML_ENVIRONMENT = make_environment(autoescape=True)
EXPRESSION_ENVIRONMENT = make_environment(expressions=True)


@cache
def _compiled_expression(source: str) -> Any:
    return EXPRESSION_ENVIRONMENT.compile_expression(source, undefined_to_none=False)


@cache
def _compiled_template(source: str, html: bool) -> Any:
    template = (HTML_ENVIRONMENT if html else ENVIRONMENT).from_string(source)
    # Jinja keeps a template's globals as a ChainMap over the environment's, and walks it key by key in
    # Python twice a render (copying it into the context, listing its keys), a large share of a short render.
    # The environments' globals are fixed once made (`make_environment`), so a plain dict renders the same.
    template.globals = dict(template.globals)
    return template


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """The value of an expression. Raises jinja2 errors (UndefinedError, SecurityError...) on failure.

    A value must be there: an expression whose value is missing (`customer.nickname` without one)
    raises UndefinedError naming it, so a computed value or a date is never silently `none`.
    """
    expression = _compiled_expression(source)  # compiled outside the budget: only the evaluation is counted
    with metered("expression", context):
        value = expression(**context)
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def is_true(source: str, context: Mapping[str, Any]) -> bool:
    """Whether a condition is true; a missing value in it is `none` (falsy). Raises jinja2 errors as `evaluate`."""
    expression = _compiled_expression(source)
    with metered("expression", context):
        return bool(expression(**context))


def render(source: str, context: Mapping[str, Any], *, html: bool = False, locality: Locality | None = None) -> str:
    """Render a template; `html=True` escapes inserted values (HTML email bodies).

    `locality` is the locale and time zone the `number`, `currency`, `date`... filters
    write for (default: `en`, UTC). Values in `context` are inserted as data: text in
    an event that looks like a template is printed as it is, never rendered.
    """
    variables = dict(context)
    if locality is not None:
        variables[LOCALITY_KEY] = locality
    template = _compiled_template(source, html)
    with metered("template", context):
        return str(template.render(**variables))
