"""Values checked inside one step: what an `update` may write and with which literals, and which webhook URLs pass."""

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


@pytest.mark.parametrize(
    "update",
    [
        "{set: {timezone: Europe/Paris, locale: pt-BR, email: a@example.com, phone: '+14155552671'}}",
        "{set: {timezone: null}}",
        "{set: {phone: '0612345678'}}",  # read in the customer's stored country, known only at run time
        "{set: {phone: '06 12 34 56 78', country: FR}}",
        "{set: {opt_in_source: web}}",
    ],
)
def test_valid_or_undecidable_reserved_values_pass(update: str) -> None:
    assert rules_of(f"update: {update}") == []


@pytest.mark.parametrize(
    "update",
    [
        "{set: {email: not-an-address}}",
        "{set: {phone: '+1 555'}}",
        "{set: {phone: '12', country: FR}}",
        "{set: {locale: '12345'}}",
        "{set: {push_tokens: abc}}",
    ],
)
def test_literal_reserved_values_identify_refuses_are_errors(update: str) -> None:
    assert rules_of(f"update: {update}") == ["invalid-trait-value"]

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
    assert rules_of(f"webhook: {{url: {url}}}") == []


@pytest.mark.parametrize("url", ["'   '", "ftp://files.example.com", "https://", "/api/contacts", "'https:// crm.example.com'"])
def test_webhook_urls_without_http_and_a_host_are_errors(url: str) -> None:
    assert rules_of(f"webhook: {{url: {url}}}") == ["invalid-url"]
