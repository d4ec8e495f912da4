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


def _files_in(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in JOURNEY_SUFFIXES
        and p.is_file()
        and not any(part in SKIPPED_FOLDERS or part.startswith(".") for part in p.relative_to(folder).parts[:-1])
    )


def journey_files(paths: Iterable[Path | str]) -> list[Path]:
    """Journey files named directly, plus every .yaml/.yml below named folders (skipping tests/ and templates/)."""
    return list(dict.fromkeys(f for group in _groups(paths).values() for f in group.files))


@dataclass
class _Group:
    """Journeys whose ids must differ: everything below a named folder, or a named file and its siblings."""

    files: list[Path]
    siblings: list[Path]


def _groups(paths: Iterable[Path | str]) -> dict[Path, _Group]:
    groups: dict[Path, _Group] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            group = groups.setdefault(path.resolve(), _Group([], []))
            group.files.extend(_files_in(path))
        elif path.is_file():
            group = groups.setdefault(path.resolve().parent, _Group([], []))
            group.files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    for folder, group in groups.items():
        named = {f.resolve() for f in group.files}
        group.siblings = [p for p in _files_in(folder) if p.resolve() not in named]
    return groups


PARALLEL_FROM = 48
"""Folders with at least this many journeys compile on every core; below it, start-up costs more than it saves."""


def _compile_all(files: list[Path]) -> list[CompileResult]:
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_FROM or workers < 2:
        return [compile_file(f) for f in files]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(compile_file, files, chunksize=max(1, len(files) // (workers * 4))))


def compile_paths(paths: Iterable[Path | str]) -> ProjectResult:
    groups = _groups(paths)
    files = list(dict.fromkeys(f for group in groups.values() for f in group.files))
    results = _compile_all(files)
    by_file = {Path(r.file): r for r in results}
    diagnostics = [d for r in results for d in r.diagnostics]
    for group in groups.values():
        diagnostics.extend(_duplicate_ids([by_file[f] for f in dict.fromkeys(group.files)], group.siblings))
    order = {r.file: n for n, r in enumerate(results)}
    diagnostics.sort(key=lambda d: (order.get(d.file, len(order)), d.file, d.line, d.column))
    return ProjectResult(tuple(results), tuple(diagnostics))


def _duplicate_ids(members: list[CompileResult], siblings: list[Path]) -> list[Diagnostic]:
    """A journey id must be unique across its journeys folder, including files that were not named."""
    owners: dict[str, list[str]] = {}
    for r in members:
        if r.journey_id:
            owners.setdefault(r.journey_id, []).append(r.file)
    for sibling in siblings:
        sibling_id = _peek_id(sibling)
        if sibling_id:
            owners.setdefault(sibling_id, []).append(_shown(sibling))
    found: list[Diagnostic] = []
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
                    f"journey id '{r.journey_id}' is also used by {', '.join(others)}; ids must be unique in a journeys folder",
                )
            )
    return found


def _shown(path: Path) -> str:
    """A path as short as it can be: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _peek_id(path: Path) -> str | None:
    try:
        document, _ = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlSyntaxError, RecursionError):
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None
