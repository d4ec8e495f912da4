"""The journey compiler: YAML in, diagnostics and a frozen journey graph (IR) out.

Stages, in order (each reports everything it finds):
1. `yaml_loader` parses YAML 1.2 keeping the line and column of every node, and finds duplicate keys.
   `lookalikes` names a file that is another kind (an events script, a `journey test` file) and where it belongs.
2. `schema` validates against schemas/journey.schema.json and explains each failure.
3. `flow` checks step ids, `next` targets, reachability and loops that never wait.
4. `semantics` checks triggers, entry, goal and settings, what the journey measures (`measures`: the goal's value,
   `metrics`), and each step by its kind; `awaited` checks the reads
   of `events.<wait_for id>` and notes which matches the IR remembers (`texts` lists what expressions read).
5. `lower` builds the IR (`orchestrator.ir.Journey`), versioned by a hash of its content.
`project` runs this over files and folders and checks journey ids across a folder.
Each step kind is one module in `steps/` (its edges, checks, lowering and drawing);
`flow`, `semantics`, `lower` and `diagram` go through that registry and name no kind.
"""

from orchestrator.compiler.diagnostics import Diagnostic, Severity, format_diagnostics, has_errors
from orchestrator.compiler.pipeline import CompileResult, compile_file, compile_text
from orchestrator.compiler.project import ProjectResult, UsageError, compile_paths, journey_files

__all__ = [
    "CompileResult",
    "Diagnostic",
    "ProjectResult",
    "Severity",
    "UsageError",
    "compile_file",
    "compile_paths",
    "compile_text",
    "format_diagnostics",
    "has_errors",
    "journey_files",
]
