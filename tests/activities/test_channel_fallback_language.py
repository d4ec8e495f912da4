"""`channel: [push, sms, email]` in the language: schema, semantic checks, IR, and old IR still decoding."""

from __future__ import annotations

import textwrap
from pathlib import Path

from orchestrator import ir
from orchestrator.compiler import compile_text
from tests.runtime.support import journey

HEAD = """
    id: shipped
    name: Shipped
    trigger: {event: go}
    steps:
      - id: notify
"""


def problems(send: str) -> list[tuple[int, str, str]]:
    text = textwrap.dedent(HEAD) + textwrap.indent(textwrap.dedent(send), "    ")
    result = compile_text(text, file="shipped.yaml", directory=Path.cwd())
    return [(d.line, d.rule, d.message) for d in result.diagnostics]


def test_a_channel_list_compiles_to_a_first_channel_and_its_fallbacks() -> None:
    compiled = journey(HEAD + '        send: {channel: [push, sms, email], title: "Shipped", subject: "Shipped", body: "x"}\n')
    step = compiled.step("notify")
    assert isinstance(step, ir.SendStep)
    assert (step.channel, step.fallback) == ("push", ("sms", "email"))
    single = journey(HEAD + '        send: {channel: [sms], body: "x"}\n').step("notify")
    assert isinstance(single, ir.SendStep) and (single.channel, single.fallback) == ("sms", ())


def test_every_channel_of_the_list_needs_its_fields() -> None:
    assert problems('send: {channel: [push, email], title: "Shipped"}') == [
        (7, "send-missing-field", "steps[0].send: the email fallback needs subject and body or template")
    ]


def test_a_field_is_unused_only_if_no_channel_of_the_list_uses_it() -> None:
    assert problems('send: {channel: [sms, email], subject: "s", body: "x"}') == []
    assert problems('send: {channel: [sms, email], subject: "s", body: "x", url: "https://x.example"}') == [
        (7, "unused-field", "steps[0].send.url: `url` is not used by sms or email messages and will be ignored")
    ]


def test_unknown_repeated_or_no_channels_are_errors() -> None:
    assert problems("send: {channel: [push, fax], body: x}") == [
        (7, "unknown-channel", "steps[0].send.channel[1]: unknown channel 'fax': use email, sms or push")
    ]
    assert [rule for _, rule, _ in problems("send: {channel: [sms, sms], body: x}")] == ["schema"]
    assert [rule for _, rule, _ in problems("send: {channel: [], body: x}")] == ["schema"]
    assert problems("send: {channel: emial, body: x, subject: s}")[0][1:] == (
        "unknown-channel",
        "steps[0].send.channel: unknown channel 'emial': use email, sms or push; did you mean 'email'?",
    )


def test_ir_recorded_before_fallback_existed_still_decodes() -> None:
    compiled = journey(HEAD + '        send: {channel: email, subject: "s", body: "x"}\n')
    old = compiled.to_dict()
    for step in old["steps"]:
        del step["fallback"]
    step = ir.Journey.from_dict(old).step("notify")
    assert isinstance(step, ir.SendStep) and step.fallback == ()
