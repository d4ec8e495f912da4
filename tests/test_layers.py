"""The layers of docs/architecture.md import only what the map says they may: no import runs upward.

Every `import` and `from ... import` in `orchestrator/` and `activities/` (those
inside functions too) is read with `ast`, never executed, and the layer of the
importing module must list the imported module's layer. The workflow modules are
checked more strictly: Temporal re-imports them in its sandbox for every
workflow, and they must not pull in the store, routing or SQLAlchemy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each layer and the layers below it that it may import (its own is always allowed).
# Keep in step with the map in docs/architecture.md.
MAY_IMPORT: dict[str, set[str]] = {
    "ir": set(),
    "privacy": set(),
    "metrics": set(),
    "analytics": {"ir", "language"},
    "personalization": {"privacy"},
    "language": {"personalization", "privacy"},
    "compiler": {"ir", "language", "personalization", "privacy"},
    "runtime": {"ir", "language", "privacy"},
    "store": {"ir", "language", "privacy", "analytics"},
    "routing": {"ir", "language", "privacy", "metrics", "analytics", "runtime", "store"},
    "webhooks": {"ir", "language", "privacy", "metrics", "analytics", "routing", "store"},
    "activities": {"ir", "language", "personalization", "privacy", "metrics", "analytics", "runtime", "store", "routing"},
    "console": {"ir", "language", "personalization", "privacy", "analytics", "compiler", "store"},
    "api": {"ir", "language", "personalization", "privacy", "metrics", "analytics", "runtime", "routing", "store", "webhooks", "console"},
    "host": {
        *("ir", "language", "personalization", "privacy", "metrics", "analytics", "compiler"),
        *("runtime", "store", "routing", "webhooks", "activities", "console", "api"),
    },
    "simulation": {
        *("ir", "language", "personalization", "privacy", "metrics", "analytics", "compiler"),
        *("runtime", "store", "routing", "activities", "host"),
    },
}
MAY_IMPORT["cli"] = set(MAY_IMPORT)  # the command line is the top: it may import every layer


def layer_of(module: str) -> str | None:
    """`orchestrator.store.profiles` -> `store`; `activities.messages` -> `activities`; the package roots -> None."""
    parts = module.split(".")
    if parts[0] == "activities":
        return "activities"
    if parts[0] != "orchestrator" or len(parts) == 1:
        return None
    name = parts[1]
    if name == "__version__":
        return None
    if name in ("cli", "__main__") or name.startswith("cli_"):  # the command line, a module per command group
        return "cli"
    return name


def modules() -> list[tuple[str, Path]]:
    found = []
    for top in ("orchestrator", "activities"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found.append((dotted, path))
    return found


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from orchestrator import ir` imports the module orchestrator.ir
            names.update(f"{node.module}.{alias.name}" if node.module == "orchestrator" else node.module for alias in node.names)
    return names


def test_every_module_belongs_to_a_layer_of_the_map() -> None:
    unknown = {dotted for dotted, _ in modules() if dotted not in ("orchestrator",) and layer_of(dotted) not in MAY_IMPORT}
    assert not unknown, f"add these to the map in docs/architecture.md and to MAY_IMPORT: {sorted(unknown)}"


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda value: value if isinstance(value, str) else "")
def test_no_import_runs_upward(module: str, path: Path) -> None:
    own = layer_of(module)
    if own is None:
        return
    upward = sorted(
        name
        for name in imported(path)
        if (other := layer_of(name)) is not None and other != own and other not in MAY_IMPORT[own]
    )
    assert not upward, f"{module} ({own}) imports {upward}, which the layer map does not allow"


def test_the_workflow_modules_import_no_store_routing_or_sqlalchemy() -> None:
    code = (
        "import sys, orchestrator.runtime.workflow, orchestrator.runtime.broadcast\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith(('sqlalchemy', 'orchestrator.store', "
        "'orchestrator.routing', 'activities', 'orchestrator.compiler'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.split() == []
