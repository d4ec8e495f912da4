"""Compile many journeys at once: find the files, compile each, check ids across each folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestrator.compiler.diagnostics import Diagnostic, Severity
from orchestrator.compiler.pipeline import CompileResult, compile_file
from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml

JOURNEY_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = frozenset({"tests", "templates"})
"""Folders inside a journeys folder that hold test cases and templates, not journeys."""


class UsageError(Exception):
    """A path that cannot be validated at all (exit code 2)."""


@dataclass(frozen=True)
class ProjectResult:
    results: tuple[CompileResult, ...]
    diagnostics: tuple[Diagnostic, ...]


def journey_files(paths: Iterable[Path | str]) -> list[Path]:
    """Journey files named directly, plus every .yaml/.yml below named folders (skipping tests/ and templates/)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in JOURNEY_SUFFIXES
                    and p.is_file()
                    and not any(part in SKIPPED_FOLDERS or part.startswith(".") for part in p.relative_to(path).parts[:-1])
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    return list(dict.fromkeys(found))


PARALLEL_FROM = 48
"""Folders with at least this many journeys compile on every core; below it, start-up costs more than it saves."""


def _compile_all(files: list[Path]) -> list[CompileResult]:
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_FROM or workers < 2:
        return [compile_file(f) for f in files]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(compile_file, files, chunksize=max(1, len(files) // (workers * 4))))


def compile_paths(paths: Iterable[Path | str]) -> ProjectResult:
    files = journey_files(paths)
    results = _compile_all(files)
    diagnostics = [d for r in results for d in r.diagnostics]
    diagnostics.extend(_duplicate_ids(results))
    return ProjectResult(tuple(results), tuple(diagnostics))


def _duplicate_ids(results: list[CompileResult]) -> list[Diagnostic]:
    """A journey id must be unique in its folder, including siblings that were not named on the command line."""
    found: list[Diagnostic] = []
    by_folder: dict[Path, list[CompileResult]] = {}
    for result in results:
        by_folder.setdefault(Path(result.file).resolve().parent, []).append(result)
    for folder, members in by_folder.items():
        owners: dict[str, list[str]] = {}
        compiled = {Path(r.file).resolve() for r in members}
        for r in members:
            if r.journey_id:
                owners.setdefault(r.journey_id, []).append(r.file)
        for sibling in sorted(p for p in folder.iterdir() if p.suffix in JOURNEY_SUFFIXES and p.resolve() not in compiled):
            sibling_id = _peek_id(sibling)
            if sibling_id:
                owners.setdefault(sibling_id, []).append(str(sibling))
        for r in members:
            others = [f for f in owners.get(r.journey_id or "", []) if f != r.file]
            if others:
                found.append(
                    Diagnostic(
                        r.file,
                        r.id_line,
                        r.id_column,
                        Severity.ERROR,
                        "duplicate-journey-id",
                        f"journey id '{r.journey_id}' is also used by {', '.join(others)}; ids must be unique in a folder",
                    )
                )
    return found


def _peek_id(path: Path) -> str | None:
    try:
        document, _ = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlSyntaxError, RecursionError):
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None
