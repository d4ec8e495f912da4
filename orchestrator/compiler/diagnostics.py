"""Problems found in journey files, and the three ways the CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. `line` and `column` are 1-based; 0 means the whole file."""

    file: str
    line: int
    column: int
    severity: Severity
    rule: str
    message: str

    def text(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message} [{self.rule}]"

    def github(self) -> str:
        # Workflow commands end a message at a newline and a property at `,` or `:`.
        message = _escape_data(f"{self.message} [{self.rule}]")
        file = _escape_data(self.file).replace(":", "%3A").replace(",", "%2C")
        return f"::{self.severity} file={file},line={self.line},col={self.column}::{message}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def format_diagnostics(diagnostics: list[Diagnostic], fmt: str) -> str:
    """Render diagnostics as `text`, `json` or `github` annotations."""
    if fmt == "json":
        return json.dumps([asdict(d) for d in diagnostics], indent=2)
    if fmt == "github":
        return "\n".join(d.github() for d in diagnostics)
    return "\n".join(d.text() for d in diagnostics)
