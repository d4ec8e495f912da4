"""`journey graph`: Mermaid and Graphviz DOT drawings of a compiled journey, and the CLI around them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator import ir
from orchestrator.cli import main
from orchestrator.compiler import compile_file, compile_text
from orchestrator.compiler.diagram import to_dot, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "journeys" / "abandoned_cart.yaml"

JOURNEY = """\
id: graph_test
name: Graph test
trigger:
  event: trial_started
  where: "event.plan != 'enterprise'"
entry:
  audience: "customer.country in ['US', 'CA']"
goal: {event: subscription_started, within: 14d}
exit_on: [unsubscribed, account_deleted]
steps:
  - id: subject_test
    split:
      paths:
        - {name: a, weight: 45, next: end_step}
        - {name: b, weight: 45, next: subgraph}
      holdout: 10
  - id: end_step
    send:
      channel: email
      subject: 'Say "hello" to <your> trial & more'
      body: Hi
    next: opened
  - id: subgraph
    send: {channel: sms, body: "Hi"}
  - id: opened
    wait_for: {event: email_opened, within: 2d, timeout_next: check}
    next: end
  - id: check
    branch:
      - when: 'customer.plan == "pro"'
        next: graph
      - when: "customer.vip"
        next: end
      - else: style
  - id: graph
    wait: 1h
    next: style
  - id: style
    exit: {reason: done}
"""


@pytest.fixture(scope="module")
def journey() -> ir.Journey:
    result = compile_text(JOURNEY, file="graph_test.yaml", directory=ROOT)
    assert result.journey is not None, [d.text() for d in result.diagnostics]
    return result.journey


@pytest.fixture(scope="module")
def mermaid(journey: ir.Journey) -> str:
    return to_mermaid(journey)


@pytest.fixture(scope="module")
def dot(journey: ir.Journey) -> str:
    return to_dot(journey)


MERMAID_NODE = re.compile(r"^  (\S+?)(\(\[|\[\[|\{\{|\[|\(|\{)\"")
MERMAID_EDGE = re.compile(r'^  (\S+) (-->|-\.->)(?:\|"(.*)"\|)? (\S+)$')
DOT_EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[(.*)\])?;$')


def mermaid_nodes(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := MERMAID_NODE.match(line))]


def mermaid_edges(text: str) -> list[tuple[str, str, str, bool]]:
    """(source, target, label, dashed) with the n_ prefix removed and the label unescaped."""
    edges = []
    for line in text.splitlines():
        if m := MERMAID_EDGE.match(line):
            source, arrow, label, target = m.groups()
            label = (label or "").replace("<br/>", "\n").replace("#quot;", '"').replace("#lt;", "<").replace("#gt;", ">")
            edges.append((source.removeprefix("n_"), target.removeprefix("n_"), label.replace("#amp;", "&"), arrow == "-.->"))
    return edges


def dot_edges(text: str) -> list[tuple[str, str, str, bool]]:
    edges = []
    for line in text.splitlines():
        if m := DOT_EDGE.match(line):
            source, target, attrs = m.groups()
            label = re.search(r'label="((?:[^"\\]|\\.)*)"', attrs or "")
            text_label = label.group(1).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\") if label else ""
            edges.append((source, target, text_label, "style=dashed" in (attrs or "")))
    return edges


# --- Mermaid ------------------------------------------------------------------------------


def test_mermaid_output_starts_with_a_top_down_flowchart_and_names_the_version(journey, mermaid):
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart TD"
    assert lines[1] == f"  %% graph_test version {journey.version}"
    assert mermaid.endswith("\n")


def test_mermaid_has_one_node_per_step_plus_trigger_end_goal_and_exit_on(journey, mermaid):
    nodes = mermaid_nodes(mermaid)
    assert len(nodes) == len(set(nodes))
    assert nodes == ["n_TRIGGER", *(f"n_{s.id}" for s in journey.steps), "n_end", "n_GOAL", "n_EXIT_ON"]


def test_mermaid_never_uses_the_reserved_word_end_as_a_bare_node_id(mermaid):
    ids = mermaid_nodes(mermaid) + [i for line in mermaid.splitlines() if (m := MERMAID_EDGE.match(line)) for i in (m[1], m[4])]
    assert ids
    assert all(i.startswith("n_") for i in ids), ids
    assert "end" not in {i.lower() for i in ids}
    assert not re.search(r"(^|\s)end(\s|$)", "\n".join(line.split("%%")[0] for line in mermaid.splitlines()))
    # Step ids that are Mermaid keywords or start like one are prefixed too.
    assert "  n_end_step[" in mermaid and "  n_subgraph[" in mermaid and "  n_style([" in mermaid and "  n_graph(" in mermaid


def test_mermaid_split_edges_show_percentages_and_a_dotted_holdout_edge_to_end(mermaid):
    assert '  n_subject_test -->|"a 45%"| n_end_step' in mermaid
    assert '  n_subject_test -->|"b 45%"| n_subgraph' in mermaid
    assert '  n_subject_test -.->|"holdout 10%"| n_end' in mermaid


def test_mermaid_branch_edges_show_each_condition_then_else(mermaid):
    assert '  n_check -->|"customer.plan == #quot;pro#quot;"| n_graph' in mermaid
    assert '  n_check -->|"customer.vip"| n_end' in mermaid
    assert '  n_check -->|"else"| n_style' in mermaid


def test_mermaid_wait_for_has_an_event_edge_and_a_dotted_timeout_edge(mermaid):
    assert '  n_opened -->|"email_opened"| n_end' in mermaid
    assert '  n_opened -.->|"timeout 2d"| n_check' in mermaid


def test_mermaid_shows_the_entry_audience_on_the_trigger_edge(mermaid):
    assert "  n_TRIGGER -->|\"customer.country in ['US', 'CA']\"| n_subject_test" in mermaid


def test_mermaid_has_goal_and_exit_on_notes(mermaid):
    assert '  n_GOAL[["🎯 goal: subscription_started within 2w<br/>ends as converted, from any step"]]' in mermaid
    assert '  n_EXIT_ON[["🚪 exit on: unsubscribed, account_deleted<br/>ends as exited, from any step"]]' in mermaid
    assert "  class n_GOAL,n_EXIT_ON note" in mermaid


def test_mermaid_says_how_long_split_groups_are_measured_when_the_goal_has_no_within():
    text = JOURNEY.replace("goal: {event: subscription_started, within: 14d}", "goal: {event: subscription_started}")
    measured = to_mermaid(compile_text(text, file="graph_test.yaml", directory=ROOT).journey)
    assert "🎯 goal: subscription_started<br/>ends as converted, from any step<br/>split groups measured 1w" in measured


def test_mermaid_shows_what_a_conversion_is_worth_and_what_the_journey_measures():
    text = JOURNEY.replace(
        "goal: {event: subscription_started, within: 14d}",
        'goal: {event: subscription_started, within: 14d, value: "event.amount"}\n'
        'metrics: [{id: nps, kind: nps, event: survey_answered, value: "event.score"}]',
    )
    drawn = to_mermaid(compile_text(text, file="graph_test.yaml", directory=ROOT).journey)
    assert "from any step<br/>worth event.amount\"]]" in drawn
    assert '  n_METRICS[["📊 measures<br/>nps: nps of survey_answered"]]' in drawn
    assert "  class n_GOAL,n_METRICS,n_EXIT_ON note" in drawn


def test_mermaid_escapes_quotes_and_html_in_labels(mermaid):
    line = next(line for line in mermaid.splitlines() if line.startswith("  n_end_step["))
    assert "Say #quot;hello#quot; to #lt;your#gt; trial #amp; more" in line
    assert line.count('"') == 2, "only the label delimiters are raw quotes"
    for line in mermaid.splitlines():
        body = line.split("%%")[0]
        assert "<" not in body.replace("<br/>", ""), line


def test_mermaid_an_exit_step_has_no_outgoing_edge(mermaid):
    assert not [e for e in mermaid_edges(mermaid) if e[0] == "style"]


def test_a_journey_without_goal_or_exit_on_has_no_note_nodes(tmp_path):
    text = "id: j\nname: J\ntrigger: {event: x}\nsteps:\n  - id: only\n    wait: 1h\n"
    journey = compile_text(text, file="j.yaml", directory=tmp_path).journey
    assert journey is not None
    mermaid = to_mermaid(journey)
    assert "GOAL" not in mermaid and "EXIT_ON" not in mermaid and "class " not in mermaid
    assert mermaid_edges(mermaid) == [("TRIGGER", "only", "", False), ("only", "end", "", False)]


# --- DOT ----------------------------------------------------------------------------------


def test_dot_output_is_a_digraph_with_one_node_per_step(journey, dot):
    lines = dot.splitlines()
    assert lines[0] == 'digraph "graph_test" {'
    assert lines[-1] == "}"
    for step in journey.steps:
        assert sum(line.startswith(f'  "{step.id}" [') for line in lines) == 1
    for special in ("TRIGGER", "end", "GOAL", "EXIT_ON"):
        assert f'  "{special}" [' in dot


def test_dot_has_the_same_edges_labels_and_dashes_as_mermaid(mermaid, dot):
    assert dot_edges(dot) == mermaid_edges(mermaid)
    assert ("opened", "check", "timeout 2d", True) in dot_edges(dot)
    assert ("subject_test", "end", "holdout 10%", True) in dot_edges(dot)
    assert ("check", "graph", 'customer.plan == "pro"', False) in dot_edges(dot)


def test_dot_escapes_quotes_in_labels(dot):
    assert '\\"hello\\"' in dot
    assert 'label="customer.plan == \\"pro\\""' in dot


# --- the CLI ------------------------------------------------------------------------------

INVALID = "id: broken\nname: Broken\ntrigger: {event: x}\nsteps:\n  - id: a\n    send: {channel: fax, body: hi}\n    next: nowhere\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_journey_graph_prints_mermaid_and_exits_0(runner):
    result = runner.invoke(main, ["graph", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart TD\n")
    journey = compile_file(EXAMPLE).journey
    assert journey is not None
    assert result.stdout == to_mermaid(journey)


def test_journey_graph_format_dot_prints_a_digraph(runner):
    result = runner.invoke(main, ["graph", str(EXAMPLE), "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('digraph "abandoned_cart" {')


def test_journey_compile_prints_the_ir_as_json_and_exits_0(runner):
    result = runner.invoke(main, ["compile", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    journey = compile_file(EXAMPLE).journey
    assert ir.Journey.from_dict(json.loads(result.stdout)) == journey


@pytest.mark.parametrize("command", ["graph", "compile"])
def test_an_invalid_journey_exits_1_with_diagnostics_on_stderr(runner, tmp_path, command):
    path = tmp_path / "broken.yaml"
    path.write_text(INVALID, encoding="utf-8")
    result = runner.invoke(main, [command, str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "[unknown-channel]" in result.stderr
    assert f"{path}:7:" in result.stderr  # the unknown target, with its line


@pytest.mark.parametrize("command", ["graph", "compile"])
def test_a_missing_file_exits_2(runner, tmp_path, command):
    result = runner.invoke(main, [command, str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
