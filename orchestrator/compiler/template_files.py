"""Template files next to a journey: read, checked like inline templates, and inlined into the IR with their locale variants."""

from __future__ import annotations

import glob
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator import ir
from orchestrator.compiler.diagnostics import Diagnostic, Severity
from orchestrator.compiler.source import JourneySource, Path_, text
from orchestrator.language.templating import MESSAGE_SCOPE, check_template
from orchestrator.personalization.locales import variant_tag


def load_template(source: JourneySource, at: Path_, value: Any) -> None:
    """Read the template file named at `at` and its locale variants into `source.templates`, checking each."""
    relative = text(value)
    if relative is None:
        return
    root = source.directory.resolve()
    try:
        candidate = (root / relative).resolve()
    except (ValueError, OSError):
        source.report(at, "missing-template", f"{relative!r} is not a usable file path")
        return
    if Path(relative).is_absolute() or not candidate.is_relative_to(root):
        source.report(
            at,
            "template-outside-folder",
            f"template '{relative}' is outside the journey's folder; keep templates next to the journey (e.g. templates/...)",
        )
        return
    try:
        content = candidate.read_text(encoding="utf-8")
    except FileNotFoundError:
        source.report(at, "missing-template", f"template file '{relative}' does not exist (looked in {candidate.parent})")
        return
    except (OSError, UnicodeDecodeError) as exc:
        source.report(at, "missing-template", f"template file '{relative}' cannot be read: {exc}")
        return
    source.templates[relative] = content
    _check_template_file(source, relative, content)
    _load_locale_variants(source, at, relative, candidate)


def _check_template_file(source: JourneySource, relative: str, content: str) -> None:
    template_file = str(Path(source.file).parent / relative)
    for problem in check_template(content, MESSAGE_SCOPE):
        # Problems inside a template file point into that file, not the journey.
        source.diagnostics.append(Diagnostic(template_file, problem.lineno, 1, Severity.ERROR, problem.rule, problem.message))


def _load_locale_variants(source: JourneySource, at: Path_, relative: str, base: Path) -> None:
    """Read and check the per-locale variants next to a template (`x.fr.html`, `x.fr_CA.html` next to `x.html`)."""
    try:
        siblings = sorted(base.parent.glob(f"{glob.escape(base.stem)}.*{glob.escape(base.suffix)}"))
    except OSError:
        return
    for sibling in siblings:
        variant = str(PurePosixPath(relative).with_name(sibling.name))
        if variant_tag(relative, variant) is None or not sibling.is_file():
            continue
        try:
            content = sibling.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            source.report(at, "missing-template", f"template variant '{variant}' cannot be read: {exc}")
            continue
        source.templates[variant] = content
        _check_template_file(source, variant, content)


def variants(source: JourneySource, template: str | None) -> tuple[ir.TemplateVariant, ...]:
    """The per-locale variants of a template file that `load_template` read, ordered by locale."""
    if not template:
        return ()
    found = {tag: body for path, body in source.templates.items() if (tag := variant_tag(template, path))}
    return tuple(ir.TemplateVariant(tag, found[tag]) for tag in sorted(found))
