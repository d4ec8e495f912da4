"""Per-locale template variants: found by the compiler next to the template, chosen per customer at send time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.compiler import compile_text
from orchestrator.personalization.locales import fallback_chain, normalize_tag, parse_locale, pick_variant, variant_tag
from tests.personalization.support import build, request

JOURNEY = """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    steps:
      - id: reminder
        send:
          channel: email
          subject: "Your cart"
          template: templates/cart_reminder.html
    """


def test_locale_tags_are_normalised_and_unknown_ones_fall_back() -> None:
    assert str(parse_locale("fr-CA")) == "fr_CA"
    assert str(parse_locale("pt_BR")) == "pt_BR"
    assert str(parse_locale("klingon")) == "en"
    assert str(parse_locale(None, "de")) == "de"
    assert normalize_tag("zh-TW") == "zh_Hant_TW"
    assert normalize_tag("old") is None


def test_variants_are_tried_most_specific_first() -> None:
    assert fallback_chain("zh_Hant_TW") == ["zh_Hant_TW", "zh_Hant", "zh"]
    variants = {"fr": "fr", "fr_CA": "fr_CA"}
    assert pick_variant("base", variants, "fr_CA") == "fr_CA"
    assert pick_variant("base", variants, "fr_BE") == "fr"
    assert pick_variant("base", variants, "de_DE") == "base"


def test_variant_file_names() -> None:
    assert variant_tag("templates/cart_reminder.html", "templates/cart_reminder.fr_CA.html") == "fr_CA"
    assert variant_tag("templates/cart_reminder.html", "templates/cart_reminder.fr-CA.html") == "fr_CA"
    assert variant_tag("templates/cart_reminder.html", "templates/cart_reminder.old.html") is None
    assert variant_tag("templates/cart_reminder.html", "other/cart_reminder.fr.html") is None
    assert variant_tag("templates/cart_reminder.html", "templates/cart_reminder.fr.txt") is None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "cart_reminder.html").write_text("<p>Hi {{ customer.first_name }}</p>")
    (templates / "cart_reminder.fr.html").write_text("<p>Bonjour {{ customer.first_name }}</p>")
    (templates / "cart_reminder.fr_CA.html").write_text("<p>Allô {{ customer.first_name }}</p>")
    (templates / "cart_reminder.backup.html").write_text("not a locale: ignored")
    return tmp_path


def test_the_compiler_puts_each_variant_in_the_ir(folder: Path) -> None:
    result = compile_text(textwrap.dedent(JOURNEY), file=str(folder / "cart.yaml"), directory=folder)
    assert result.journey is not None, result.diagnostics
    (step,) = result.journey.steps
    assert [(v.locale, v.body) for v in step.variants] == [  # type: ignore[union-attr]
        ("fr", "<p>Bonjour {{ customer.first_name }}</p>"),
        ("fr_CA", "<p>Allô {{ customer.first_name }}</p>"),
    ]


def test_editing_a_variant_makes_a_new_version(folder: Path) -> None:
    before = compile_text(textwrap.dedent(JOURNEY), file=str(folder / "cart.yaml"), directory=folder).journey
    (folder / "templates" / "cart_reminder.fr.html").write_text("<p>Salut {{ customer.first_name }}</p>")
    after = compile_text(textwrap.dedent(JOURNEY), file=str(folder / "cart.yaml"), directory=folder).journey
    assert before is not None and after is not None
    assert before.version != after.version


def test_a_broken_variant_is_reported_in_its_own_file(folder: Path) -> None:
    (folder / "templates" / "cart_reminder.de.html").write_text("<p>Hallo\n{{ customer.frist_name }</p>")
    result = compile_text(textwrap.dedent(JOURNEY), file=str(folder / "cart.yaml"), directory=folder)
    assert [(Path(d.file).name, d.line, d.rule) for d in result.diagnostics] == [("cart_reminder.de.html", 2, "template-syntax")]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-CA", "<p>Allô Ann</p>"),
        ("fr_BE", "<p>Bonjour Ann</p>"),
        ("fr", "<p>Bonjour Ann</p>"),
        ("de", "<p>Hi Ann</p>"),
        (None, "<p>Hi Ann</p>"),
    ],
)
def test_each_customer_gets_the_most_specific_variant(locale: str | None, expected: str) -> None:
    req = request(
        category="transactional",
        body="<p>Hi {{ customer.first_name }}</p>",
        variants={"fr": "<p>Bonjour {{ customer.first_name }}</p>", "fr_CA": "<p>Allô {{ customer.first_name }}</p>"},
    )
    assert build(req, locale=locale).body == expected
