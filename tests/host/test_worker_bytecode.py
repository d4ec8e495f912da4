"""The worker writes the workflow module's bytecode once, so the sandbox does not compile it for every new workflow."""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

from orchestrator.host.worker import cache_workflow_bytecode
from orchestrator.runtime import workflow


def test_the_workflow_modules_bytecode_is_cached_and_matches_the_source() -> None:
    source = Path(workflow.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)  # as on a fresh clone, or after an edit under PYTHONDONTWRITEBYTECODE
    cache_workflow_bytecode()
    header = cached.read_bytes()[:16]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    _flags, mtime, size = struct.unpack("<III", header[4:16])
    stat = os.stat(source)
    assert (mtime, size) == (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)  # what the importer checks
