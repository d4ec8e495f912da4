"""What a process checks before it starts serving, and its refusal to start when something it depends on is wrong.

A deployment that points at a namespace that does not exist, or one where the enrollments' search
attributes are not registered, accepts nothing that starts a journey: every start call is refused.
Found at start, that is one message with the command that fixes it and a refusal to start; found by
the first customer's event, it is an error per event. `journey worker`, `journey api` and `journey
deploy` check the namespace (orchestrator/routing/namespace_check.py) and migrate the database when
they start (`journey dev` registers the attributes itself).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.store import Store


class StartRefused(RuntimeError):
    """A process refuses to start: `str()` is every problem found, each with its fix."""

    def __init__(self, process: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{process} cannot start:\n" + "\n".join(f"  - {problem}" for problem in problems))


def migrated(store: Store, process: str) -> None:
    """Bring the store's schema up to date, or refuse to start (StartRefused) saying which database did not answer."""
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) is not None else exc).strip().splitlines()[0]
        raise StartRefused(
            process,
            [
                f"the database {shown_url(store.url)} cannot be migrated ({type(exc).__name__}: {reason}): check DATABASE_URL, "
                "that the server runs, and that its role may create and alter tables (docs/deploy.md)"
            ],
        ) from exc


def shown_url(url: str) -> str:
    """The database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)
