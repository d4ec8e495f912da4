"""Unsubscribe links and List-Unsubscribe headers on marketing email."""

from __future__ import annotations

import base64
import hashlib
import hmac

from orchestrator.personalization.unsubscribe import UnsubscribeConfig, ensure_unsubscribe_link
from tests.personalization.support import LINKS, build, request


def signed_token(secret: bytes, customer_id: str) -> str:
    """A token as links carried it before they were sealed: the id in base64url, a dot, a truncated HMAC-SHA256."""
    tag = hmac.new(secret, b"unsubscribe:" + customer_id.encode(), hashlib.sha256).digest()[:16]
    return f"{b64(customer_id.encode())}.{b64(tag)}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_names_its_customer_and_cannot_be_forged() -> None:
    token = LINKS.token("ann")
    assert LINKS.customer_of(token) == "ann"
    assert LINKS.customer_of(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert LINKS.customer_of("garbage") is None
    assert LINKS.customer_of("") is None
    other_key = UnsubscribeConfig(LINKS.public_url, b"another-secret")
    assert other_key.customer_of(token) is None


def test_a_token_carries_the_customer_id_in_no_readable_form() -> None:
    for customer_id in ("ann@example.com", "ann"):
        token = LINKS.token(customer_id)
        assert LINKS.customer_of(token) == customer_id
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert customer_id.encode() not in decoded
        readable = [customer_id, b64(customer_id.encode()), customer_id.encode().hex(), "ann"]
        assert not any(form in token for form in readable), token
    # Equal lengths: the token does not tell a short id from a longer one.
    assert len(LINKS.token("a@b.co")) == len(LINKS.token("ann.lee@b.com"))


def test_links_sent_before_tokens_were_sealed_still_unsubscribe_their_customer() -> None:
    old = signed_token(b"test-secret", "ann@example.com")
    assert LINKS.customer_of(old) == "ann@example.com"
    encoded, _, tag = old.partition(".")
    assert LINKS.customer_of(f"{b64(b'bob@example.com')}.{tag}") is None  # ann's signature on bob's id
    assert LINKS.customer_of(f"{encoded}.{tag[:-2]}AA") is None
    assert UnsubscribeConfig(LINKS.public_url, b"another-secret").customer_of(old) is None


def test_marketing_email_carries_list_unsubscribe_headers() -> None:
    message = build(request())
    token = LINKS.token("ann")
    url, mailto = f"https://journeys.shop.example/v1/unsubscribe/{token}", f"unsubscribe@shop.example?subject=unsubscribe%20{token}"
    assert message.headers == {
        "List-Unsubscribe": f"<{url}>, <mailto:{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert message.category == "marketing"


def test_one_click_is_only_offered_over_https() -> None:
    plain = UnsubscribeConfig("http://127.0.0.1:8080", b"k")
    assert plain.headers("ann") == {"List-Unsubscribe": f"<http://127.0.0.1:8080/v1/unsubscribe/{plain.token('ann')}>"}


def test_a_marketing_email_without_a_link_gets_a_footer_in_the_customers_language() -> None:
    url = LINKS.url("ann")
    message = build(request(body="<html><body><p>Sale!</p></body></html>"), locale="fr")
    assert message.body.endswith(f'<a href="{url}" style="color:#666666">Se désabonner</a></p>\n</body></html>')
    assert f"Se désabonner ({url})" in (message.text or "")


def test_a_template_that_links_unsubscribe_url_itself_gets_no_footer() -> None:
    message = build(request(body='<p>Sale! <a href="{{ unsubscribe_url }}">Stop these</a></p>'))
    assert message.body == f'<p>Sale! <a href="{LINKS.url("ann")}">Stop these</a></p>'


def test_transactional_email_sms_and_push_get_no_footer_or_headers() -> None:
    receipt = build(request(category="transactional", body="<p>Your receipt</p>"))
    assert (receipt.body, receipt.headers, receipt.category) == ("<p>Your receipt</p>", {}, "transactional")
    sms = build(request(channel="sms", subject=None, body="Sale! Stop: {{ unsubscribe_url }}"))
    assert (sms.body, sms.headers) == (f"Sale! Stop: {LINKS.url('ann')}", {})
    push = build(request(channel="push", subject=None, title="Sale", body="50% off"))
    assert (push.body, push.headers) == ("50% off", {})


def test_the_footer_goes_before_the_last_body_end_tag_or_at_the_end() -> None:
    assert ensure_unsubscribe_link("<p>x</p>", "https://u", "en").startswith("<p>x</p>\n<p ")
    html = ensure_unsubscribe_link("<BODY><p>x</p></BODY >", "https://u", "de")
    assert html.endswith('<a href="https://u" style="color:#666666">Abmelden</a></p>\n</BODY >')
