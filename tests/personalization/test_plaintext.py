"""The plain-text part of HTML email."""

from __future__ import annotations

from orchestrator.personalization.plaintext import html_to_text
from tests.personalization.support import build, request

EMAIL = """<!doctype html>
<html><head><title>Cart</title><style>p { color: red }</style></head>
<body>
  <h1>Hello&nbsp;Ann &amp; co</h1>
  <p>You left <b>2 items</b> in your
     cart.<br>They are saved.</p>
  <ul><li>Shoes</li><li>Socks</li></ul>
  <p><a href="https://shop.example/cart?id=1&amp;x=2">Back to your cart</a>
     or <a href="https://shop.example/help">https://shop.example/help</a>
     or <a href="mailto:help@shop.example">write to us</a>, <a href="#top">top</a>.</p>
  <img src="logo.png" alt="Shop logo">
  <script>alert('x')</script>
</body></html>
"""


def test_html_becomes_readable_text_without_markup() -> None:
    assert html_to_text(EMAIL) == (
        "Hello Ann & co\n"
        "\n"
        "You left 2 items in your cart.\n"
        "They are saved.\n"
        "\n"
        "- Shoes\n"
        "- Socks\n"
        "\n"
        "Back to your cart (https://shop.example/cart?id=1&x=2) or https://shop.example/help "
        "or write to us (help@shop.example), top.\n"
        "\n"
        "Shop logo\n"
    )


def test_a_fragment_and_plain_text_work_too() -> None:
    assert html_to_text("Hi <a href='https://x.example'>there</a>") == "Hi there (https://x.example)\n"
    assert html_to_text("just text") == "just text\n"


def test_every_html_email_has_a_text_part_and_other_channels_none() -> None:
    email = build(request(category="transactional", body="<p>Hi <b>{{ customer.first_name }}</b></p>"))
    assert email.text == "Hi Ann\n"
    sms = build(request(channel="sms", subject=None, body="Hi {{ customer.first_name }}"))
    assert sms.text is None
