"""What a journey's `update` may write: the cases around the fixtures of test_rules.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compiler import compile_text


def rules_of(step: str) -> list[str]:
    text = f"id: j\nname: J\ntrigger: {{event: signed_up}}\nsteps:\n  - id: s\n    {step}\n"
    return [d.rule for d in compile_text(text, file="j.yaml", directory=Path(".")).diagnostics]


@pytest.mark.parametrize(
    "update",
    [
        "{compute: {email_opt_in: 'true'}}",
        "{set: {newsletter_opt_in: true}}",
        "{unset: [sms_stopped]}",
        "{set: {phone_undeliverable: false}}",
    ],
)
def test_update_of_consent_or_deliverability_is_refused_in_set_compute_and_unset(update: str) -> None:
    assert rules_of(f"update: {update}") == ["protected-trait"]

