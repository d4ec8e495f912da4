"""The console's journey graph: every example journey draws as well-formed SVG with the counts where they belong."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_file, compile_text
from orchestrator.compiler.diagram import drawing_parts
from orchestrator.console.graph import EdgeKey, GraphCounts, StepCounts, edge_keys, journey_svg

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "journeys").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


def compiled(path: Path) -> ir.Journey:
    journey = compile_file(path).journey
    assert journey is not None
    return journey


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_draws_each_step_once_and_every_arrow_of_the_mermaid_drawing(path: Path) -> None:
    journey = compiled(path)
    root = parsed(journey_svg(journey, GraphCounts()))
    steps = [g.get("data-step") for g in root.iter(f"{SVG}g") if g.get("data-step")]
    assert sorted(steps) == sorted(s.id for s in journey.steps)
    drawn = sorted(g.get("data-edge") for g in root.iter(f"{SVG}g") if g.get("data-edge"))
    _, arrows = drawing_parts(journey)
    assert drawn == sorted(f"{a.source}->{a.target}" for a in arrows)
    # Its own size, which the stylesheet scales down to the page (class journey-graph): no inline style, which the CSP refuses.
    viewbox = re.fullmatch(r"0 0 (\d+) (\d+)", root.get("viewBox") or "")
    assert viewbox and (root.get("width"), root.get("height")) == viewbox.groups() and root.get("class") == "journey-graph"
    assert root.get("style") is None


def test_each_step_shows_its_counts_and_links_to_its_funnel_row() -> None:
    journey = compiled(ROOT / "journeys" / "abandoned_cart.yaml")
    counts = GraphCounts(steps={"reminder": StepCounts(reached=1234, waiting=5), "opened": StepCounts(900, 321)})
    root = parsed(journey_svg(journey, counts))
    links = {a.get("href"): a for a in root.iter(f"{SVG}a")}
    reminder = links["#step-reminder"]
    group = reminder.find(f"{SVG}g")
    assert group is not None and (group.get("data-reached"), group.get("data-waiting")) == ("1234", "5")
    assert "reached 1,234 · waiting 5" in "".join(group.itertext())
    assert "reached 1,234, waiting 5" in (reminder.get("aria-label") or "")
    opened = links["#step-opened"].find(f"{SVG}g")
    assert opened is not None and opened.get("data-waiting") == "321"
    nudge = links["#step-nudge"].find(f"{SVG}g")
    assert nudge is not None and "reached 0 · waiting 0" in "".join(nudge.itertext())


def test_a_split_s_arms_and_holdout_show_their_counts_on_their_arrows() -> None:
    journey = compiled(ROOT / "journeys" / "subject_line_test.yaml")
    split = journey.step("subject_test")
    a, b, holdout = edge_keys(split)
    assert holdout == EdgeKey("subject_test", ir.END, "holdout 10%")
    root = parsed(journey_svg(journey, GraphCounts(edges={a: 450, b: 4321, holdout: 99})))
    edges = {g.get("data-edge"): g for g in root.iter(f"{SVG}g") if g.get("data-edge")}
    assert edges["subject_test->kickoff_question"].get("data-count") == "4321"
    assert "4,321" in "".join(edges["subject_test->kickoff_question"].itertext())
    assert edges["subject_test->end"].get("data-count") == "99"
    assert edges["kickoff_benefit->wait_three_days"].get("data-count") is None


JOURNEY = """\
id: escape_test
name: "Escape <b>test</b>"
trigger: {event: signed_up}
steps:
  - id: hello
    send: {channel: email, subject: "<script>alert('x')</script> & more", body: Hi}
  - id: a_week
    wait: 7d
  - id: check
    branch:
      - when: "customer.score < 3"
        next: hello
      - else: end
"""


def test_text_from_the_journey_stays_text() -> None:
    result = compile_text(JOURNEY, file="escape_test.yaml", directory=ROOT)
    assert result.journey is not None, result.diagnostics
    svg = journey_svg(result.journey, GraphCounts())
    assert "<script>" not in svg and "<b>" not in svg
    text = "".join(parsed(svg).itertext())
    assert "<script>alert('x')</script>" in text and "Escape <b>test</b>" in text and "customer.score < 3" in text


def test_a_loop_is_drawn_as_a_back_edge_beside_the_boxes() -> None:
    result = compile_text(JOURNEY, file="escape_test.yaml", directory=ROOT)
    assert result.journey is not None
    root = parsed(journey_svg(result.journey, GraphCounts()))
    back = next(g for g in root.iter(f"{SVG}g") if g.get("data-edge") == "check->hello")
    path = back.find(f"{SVG}path")
    assert path is not None
    ys = [float(y) for y in re.findall(r"-?[\d.]+,(-?[\d.]+)", path.get("d") or "")]
    assert ys[-1] < ys[0], "the loop climbs from the branch back up to the send"


def test_the_drawing_is_the_same_every_time() -> None:
    journey = compiled(ROOT / "journeys" / "nps_survey.yaml")
    counts = GraphCounts(steps={"survey_email": StepCounts(3, 1)})
    assert journey_svg(journey, counts) == journey_svg(journey, counts)


def test_arrows_run_downwards_from_the_trigger_to_the_end() -> None:
    journey = compiled(ROOT / "journeys" / "welcome_series.yaml")
    root = parsed(journey_svg(journey, GraphCounts()))
    tops = {}
    for link in root.iter(f"{SVG}a"):
        group = link.find(f"{SVG}g")
        assert group is not None
        rect = group.find(f"{SVG}rect")
        assert rect is not None
        tops[group.get("data-step")] = float(rect.get("y") or 0)
    assert tops["welcome_email"] < tops["settle_in"] < tops["check_progress"] < tops["first_project"] < tops["tips_email"]
