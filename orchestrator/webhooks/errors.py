"""Why a webhook request was not applied. The HTTP layer turns these into answers; nothing was written."""

from __future__ import annotations

from collections.abc import Sequence


class WebhookRefused(Exception):
    """The request cannot be trusted (no or bad signature, stale) or cannot be checked (not configured)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class PayloadError(ValueError):
    """The payload is not what the provider sends: each problem names its field, e.g. `[2].sg_event_id`."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = list(problems)
