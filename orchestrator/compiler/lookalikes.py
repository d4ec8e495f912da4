"""Files that lie among journeys but are not journeys: what they look like and where they belong.

`journey validate DIR` reads every .yaml below DIR. An events script for
`journey simulate --events` or a `journey test` file put next to the journeys
would otherwise be reported as a broken journey (a list where a mapping should
be, unknown keys), which says nothing about what to do. Recognising them by
their shape lets the finding name the file's kind and the fix instead.
"""

from __future__ import annotations

from typing import Any

from orchestrator.compiler.yaml_loader import LocDict, LocList


def not_a_journey(document: Any) -> str | None:
    """Why `document` is another kind of file than a journey, and what to do with it; None when it may be a journey."""
    if _is_events_script(document):
        return (
            "this file looks like an events script for `journey simulate --events` (a list of {at, event, properties}), "
            "not a journey; move it out of the journeys folder (e.g. to a simulations/ folder) and pass it with --events"
        )
    if isinstance(document, LocDict) and "journey" in document and "cases" in document and "steps" not in document:
        return (
            "this file looks like a `journey test` file (journey: and cases:), not a journey; "
            "put it in a tests/ folder next to the journeys, which `journey validate` skips and `journey test` reads"
        )
    return None


def _is_events_script(document: Any) -> bool:
    return (
        isinstance(document, LocList)
        and len(document) > 0
        and all(isinstance(item, LocDict) and "event" in item and "id" not in item and "steps" not in item for item in document)
    )
