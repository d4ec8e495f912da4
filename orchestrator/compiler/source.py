"""One journey file being compiled: its text, its parsed document, and the findings so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.compiler.diagnostics import Diagnostic, Severity
from orchestrator.compiler.yaml_loader import Loc, LocDict, LocList, locate

Path_ = tuple[str | int, ...]
"""Where a node is in the document: keys and list indexes from the top (`("steps", 2, "send", "subject")`)."""


@dataclass
class JourneySource:
    file: str
    """The path as the user named it; used in every diagnostic."""
    directory: Path
    """Folder that template paths are relative to."""
    text: str
    document: LocDict
    diagnostics: list[Diagnostic] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)
    """Template file contents by the path written in the journey."""
    remembered: set[str] = field(default_factory=set)
    """The wait_for steps whose match some expression or template reads as `events.<id>` (found by `awaited`)."""

    def report(
        self,
        path: Path_,
        rule: str,
        message: str,
        *,
        on_key: bool = False,
        severity: Severity = Severity.ERROR,
        inner_line: int = 1,
    ) -> None:
        """Record a finding at the node `path`; `inner_line` is a 1-based line inside a multi-line scalar."""
        loc = locate(self.document, path, key=on_key) or Loc(1, 1)
        line, column = self._inside(loc, inner_line)
        self.diagnostics.append(Diagnostic(self.file, line, column, severity, rule, f"{dotted(path)}: {message}"))

    def _inside(self, loc: Loc, inner_line: int) -> tuple[int, int]:
        if inner_line <= 1 and loc.style not in ("|", ">"):
            return loc.line, loc.column
        # Block scalars start on the line after their indicator.
        line = loc.line + inner_line - (0 if loc.style in ("|", ">") else 1)
        lines = self.text.splitlines()
        if 1 <= line <= len(lines):
            text = lines[line - 1]
            return line, len(text) - len(text.lstrip()) + 1
        return loc.line, loc.column

    def folded_block_lines(self, path: Path_) -> str | None:
        """The source lines of a folded (`>`) block scalar, newlines kept; None for other scalars.

        Folding joins lines before Jinja sees the text, so Jinja's line numbers
        count folded lines; re-checking the unfolded lines gives source lines.
        """
        loc = locate(self.document, path)
        if loc is None or loc.style != ">":
            return None
        lines = self.text.splitlines()[loc.line :]
        block: list[str] = []
        indent: int | None = None
        for line in lines:
            stripped = line.lstrip()
            if not stripped:
                block.append("")
                continue
            current = len(line) - len(stripped)
            if indent is None:
                indent = current
            if current < indent:
                break
            block.append(line[indent:])
        return "\n".join(block)

    # --- lenient accessors: the semantic rules run even on documents the schema rejected ---

    def steps(self) -> list[tuple[int, LocDict]]:
        steps = self.document.get("steps")
        if not isinstance(steps, LocList):
            return []
        return [(i, s) for i, s in enumerate(steps) if isinstance(s, LocDict)]

    def step_ids(self) -> dict[str, int]:
        ids: dict[str, int] = {}
        for index, step in self.steps():
            step_id = step.get("id")
            if isinstance(step_id, str) and step_id not in ids:
                ids[step_id] = index
        return ids


def dotted(path: Path_) -> str:
    """`steps[2].send.subject`: how a finding names the field it is about."""
    result = ""
    for part in path:
        result += f"[{part}]" if isinstance(part, int) else (f".{part}" if result else str(part))
    return result or "journey"


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
