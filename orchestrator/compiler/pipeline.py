"""Compile one journey file: read, parse, schema, semantic rules, then the IR.

Every stage reports all it finds; the IR is built only when no stage found an
error, so a journey is either fully valid or not produced at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator import ir
from orchestrator.compiler.awaited import check_awaited
from orchestrator.compiler.diagnostics import Diagnostic, Severity, has_errors
from orchestrator.compiler.flow import check_flow
from orchestrator.compiler.lookalikes import not_a_journey
from orchestrator.compiler.lower import lower
from orchestrator.compiler.schema import validate_schema
from orchestrator.compiler.semantics import check_semantics
from orchestrator.compiler.source import JourneySource
from orchestrator.compiler.yaml_loader import LocDict, YamlSyntaxError, load_yaml


@dataclass(frozen=True)
class CompileResult:
    file: str
    journey: ir.Journey | None
    diagnostics: tuple[Diagnostic, ...]
    journey_id: str | None = None
    """The `id` written in the file, when there is one, even if the file has errors."""
    id_line: int = 1
    id_column: int = 1

    @property
    def ok(self) -> bool:
        return self.journey is not None


def compile_file(path: Path | str) -> CompileResult:
    """Compile the journey at `path`; diagnostics name the path as given."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return _failed(file, "file-unreadable", f"cannot read the file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _failed(file, "file-unreadable", "the file is not UTF-8 text; a journey is a YAML file")
    return compile_text(text, file=file, directory=path.parent)


def compile_text(text: str, *, file: str, directory: Path) -> CompileResult:
    """Compile journey YAML `text`; template paths resolve against `directory`."""
    try:
        document, yaml_problems = load_yaml(text)
    except YamlSyntaxError as exc:
        problem = exc.problem
        return CompileResult(
            file, None, (Diagnostic(file, problem.loc.line, problem.loc.column, Severity.ERROR, problem.rule, problem.message),)
        )
    except RecursionError:
        return _failed(file, "yaml-syntax", "the YAML nests too deeply (or refers to itself through an alias)")
    if document is None:
        return _failed(file, "empty-file", "the file is empty; a journey needs at least id, name, trigger and steps")
    other_kind = not_a_journey(document)
    if other_kind is not None:
        return _failed(file, "not-a-journey", other_kind)
    if not isinstance(document, LocDict):
        kind = "a list" if isinstance(document, list) else f"a single value ({type(document).__name__})"
        return _failed(file, "not-a-mapping", f"a journey file must be a mapping of keys (id:, name:, trigger:, steps:), not {kind}")

    source = JourneySource(file, directory, text, document)
    for problem in yaml_problems:
        source.diagnostics.append(Diagnostic(file, problem.loc.line, problem.loc.column, Severity.ERROR, problem.rule, problem.message))
    try:
        for finding in validate_schema(document):
            source.report(finding.path, finding.rule, finding.message, on_key=finding.on_key)
    except RecursionError:
        return _failed(file, "yaml-syntax", "the YAML refers to itself through an alias, which a journey cannot do")
    check_flow(source)
    check_semantics(source)
    check_awaited(source)

    diagnostics = _unique(source.diagnostics)
    journey_id = document.get("id") if isinstance(document.get("id"), str) else None
    id_loc = document.value_locs.get("id") if journey_id else None
    journey = None if has_errors(diagnostics) else lower(source)
    return CompileResult(
        file,
        journey,
        tuple(diagnostics),
        journey_id,
        id_loc.line if id_loc else 1,
        id_loc.column if id_loc else 1,
    )


def _failed(file: str, rule: str, message: str) -> CompileResult:
    return CompileResult(file, None, (Diagnostic(file, 1, 1, Severity.ERROR, rule, message),))


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One finding per place and rule (the schema and a semantic rule may both see a bad duration), in file order."""
    seen: set[tuple[str, int, int, str]] = set()
    result: list[Diagnostic] = []
    for d in sorted(diagnostics, key=lambda d: (d.file, d.line, d.column)):
        key = (d.file, d.line, d.column, d.rule)
        if key not in seen:
            seen.add(key)
            result.append(d)
    return result
