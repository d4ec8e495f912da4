"""Which webhook URLs `journey validate` accepts: the cases around the invalid-url fixtures of test_rules.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compiler import compile_text


def rules_of(url: str) -> list[str]:
    text = f"id: j\nname: J\ntrigger: {{event: signed_up}}\nsteps:\n  - id: s\n    webhook: {{url: {url}}}\n"
    return [d.rule for d in compile_text(text, file="j.yaml", directory=Path(".")).diagnostics]


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/contacts",
        "HTTP://crm.example.com",
        "'https://{{ secrets.CRM_HOST }}/contacts'",
        "'{{ secrets.CRM_URL }}/contacts'",  # known only when it renders
    ],
)
def test_webhook_urls_with_a_scheme_or_starting_with_a_template_pass(url: str) -> None:
    assert rules_of(url) == []


@pytest.mark.parametrize("url", ["'   '", "ftp://files.example.com", "https://", "/api/contacts", "'https:// crm.example.com'"])
def test_webhook_urls_without_http_and_a_host_are_errors(url: str) -> None:
    assert rules_of(url) == ["invalid-url"]
