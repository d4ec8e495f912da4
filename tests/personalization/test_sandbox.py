"""Sandbox escapes, both ways: refused by `journey validate` when written in a journey; harmless when they come as data.

Each payload is (1) compiled as part of a journey, which must fail with `unsafe-template`
at the payload's line; (2) sent as an event property, which must be printed as text,
never evaluated; and (3) rendered directly as if the compiler had been bypassed (a
forged IR, a compiler bug), which must fail that one send with a template error and
reveal nothing of Python's internals.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from markupsafe import escape

from activities.messages import Undeliverable
from orchestrator.compiler import compile_text
from orchestrator.language.templating import MESSAGE_SCOPE, check_template
from tests.personalization.support import build, request

PAYLOADS = [
    pytest.param("{{ ''.__class__.__mro__ }}", id="dunder-mro"),
    pytest.param("{{ ''.__class__.__mro__[1].__subclasses__() }}", id="subclasses"),
    pytest.param("{{ ''|attr('__class__') }}", id="attr-filter"),
    pytest.param("{{ lipsum.__globals__ }}", id="lipsum-globals"),
    pytest.param("{{ lipsum.__globals__['os'].popen('id').read() }}", id="lipsum-os-popen"),
    pytest.param("{{ '{0.__class__}'.format(customer) }}", id="str-format"),
    pytest.param("{{ '{email.__class__}'.format_map(customer) }}", id="str-format-map"),
    pytest.param("{{ cycler.__init__.__globals__ }}", id="cycler-init-globals"),
    pytest.param("{{ joiner.__init__.__globals__ }}", id="joiner-init-globals"),
    pytest.param("{{ namespace.__init__.__globals__ }}", id="namespace-init-globals"),
    pytest.param("{{ self._TemplateReference__context }}", id="self-context"),
    pytest.param("{{ self.__init__.__globals__ }}", id="self-globals"),
    pytest.param("{{ request.application.__globals__ }}", id="request-global"),
    pytest.param("{{ config.items() }}", id="config-global"),
    pytest.param("{{ customer['__class__'] }}", id="dunder-subscript"),
    pytest.param("{{ event.name | attr('__class__') }}", id="attr-on-event-data"),
    pytest.param("{% set c = ''.__class__ %}{{ c }}", id="set-dunder"),
    pytest.param("{{ range.__self__ }}", id="range-self"),
    pytest.param("{% include 'secrets.txt' %}", id="include"),
    pytest.param("{% import 'x.html' as x %}", id="import"),
    pytest.param("{{ customer.__dict__ }}", id="dict"),
    pytest.param("{{ customer.items.__func__ }}", id="bound-method-func"),
]

LEAKS = ("<class", "&lt;class", "<built-in", "&lt;built-in", "<function", "&lt;function", "module", "uid=", "__")


def journey_with(body: str) -> str:
    template = textwrap.dedent(
        """\
        id: unsafe
        name: Unsafe
        trigger: {event: checkout_started}
        steps:
          - id: reminder
            send:
              channel: email
              subject: Hello
              body: |-
                <p>Hi there,</p>
                %s
        """
    )
    return template % body


@pytest.mark.parametrize("payload", PAYLOADS)
def test_written_in_a_journey_it_fails_validation_at_its_line(payload: str) -> None:
    result = compile_text(journey_with(payload), file="unsafe.yaml", directory=Path.cwd())
    assert result.journey is None
    found = {(d.file, d.line, d.rule) for d in result.diagnostics}
    assert found == {("unsafe.yaml", 11, "unsafe-template")}, [d.text() for d in result.diagnostics]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_arriving_as_event_data_it_is_printed_as_text(payload: str) -> None:
    event = {"name": payload}
    email = build(request(category="transactional", subject="{{ event.name }}", body="<p>{{ event.name }}</p>", event=event))
    assert email.subject == payload  # subjects are not HTML: no escaping, and no evaluation either
    assert email.body == f"<p>{escape(payload)}</p>"
    sms = build(request(channel="sms", subject=None, body="Hi {{ event.name }}", event=event))
    assert sms.body == f"Hi {payload}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendered_past_the_compiler_it_fails_the_send_and_reveals_nothing(payload: str) -> None:
    try:
        message = build(request(channel="sms", subject=None, body=f"Hi {payload}", event={"name": "shoes"}))
    except Undeliverable as failure:
        assert str(failure).startswith("template error in body: ")
        return
    assert not any(leak in message.body for leak in LEAKS), message.body  # pragma: no cover - every payload raises today


@pytest.mark.parametrize(
    ("template", "event"),
    [
        pytest.param("{{ customer[event.key] }}", {"key": "__class__"}, id="dunder-key-from-event"),
        pytest.param("{{ event.name[event.key] }}", {"name": "x", "key": "__class__"}, id="dunder-key-on-text"),
        pytest.param("{{ customer['_' ~ '_class__'] }}", {}, id="dunder-built-by-concatenation"),
        pytest.param("{{ event.fmt % customer }}", {"fmt": "%(email).__class__s"}, id="percent-format-from-event"),
        pytest.param("{{ event.fmt | format(customer) }}", {"fmt": "{0.__class__}"}, id="format-filter-from-event"),
        pytest.param("{{ event.items }}", {"items": "{{ ''.__class__ }}"}, id="key-shadowing-a-method"),
    ],
)
def test_tricks_the_compiler_cannot_see_are_stopped_by_the_sandbox(template: str, event: dict[str, str]) -> None:
    assert check_template(template, MESSAGE_SCOPE) == ()
    try:
        message = build(request(channel="sms", subject=None, body=template, event=event))
    except Undeliverable as failure:
        assert "template error" in str(failure)
        return
    assert "<class" not in message.body and "__class__'>" not in message.body, message.body


def test_the_sandbox_is_immutable_at_run_time() -> None:
    with pytest.raises(Undeliverable, match="template error"):
        build(request(channel="sms", subject=None, body="{{ customer.update({'email': 'evil@example.com'}) }}"))
    with pytest.raises(Undeliverable, match="template error"):
        build(request(channel="sms", subject=None, body="{% set l = [] %}{{ l.append(1) }}"))


def test_html_email_escapes_inserted_values_and_other_parts_do_not() -> None:
    event = {"name": "<b>Tom & Jerry</b>", "url": "https://x.example/?a=1&b=2"}
    email = build(
        request(category="transactional", subject="{{ event.name }}", body="<p>{{ event.name }}</p>", event=event), first_name="<i>Ann</i>"
    )
    assert email.subject == "<b>Tom & Jerry</b>"
    assert email.body == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"
    assert email.text == "<b>Tom & Jerry</b>\n"
    push = build(
        request(channel="push", subject=None, title="{{ event.name }}", body="{{ event.name }}", url="{{ event.url }}", event=event)
    )
    assert (push.title, push.body, push.url) == ("<b>Tom & Jerry</b>", "<b>Tom & Jerry</b>", "https://x.example/?a=1&b=2")


def test_a_message_reads_the_customer_the_triggering_event_and_the_journey() -> None:
    body = "{{ customer.first_name }}: {{ event.item }} ({{ journey.id }} {{ journey.version }}, step {{ journey.step }})"
    assert check_template(body, MESSAGE_SCOPE) == ()
    sms = build(request(channel="sms", subject=None, body=body, event={"item": "socks"}))
    assert sms.body == "Ann: socks (cart v1, step reminder)"


def test_a_missing_value_fails_the_send_with_its_name() -> None:
    with pytest.raises(Undeliverable, match="template error in subject: 'dict object' has no attribute 'cart_url'"):
        build(request(subject="{{ event.cart_url }}", event={}))
