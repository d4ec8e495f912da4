"""The console's routes, put together: the pages behind the login, the login itself, the static files.

`install_console(app, access, repo_url=...)` is what orchestrator/api/app.py calls: it includes
`console_router(...)` and answers the `PageAnswer`s the access dependency raises (a redirect to the
login, the CSRF page) with the page they carry. Page modules expose `router`; they get the store
through `rendering.console_store` and never deal with the login: `require_login` is applied here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response

from orchestrator.console import customer_page, journey_page, journeys_page
from orchestrator.console.access import ConsoleAccess, PageAnswer, access_routes
from orchestrator.console.rendering import PREFIX, STATIC, secured

# Served by name from this fixed list, read at import: a request can never reach outside static/.
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".txt": "text/plain; charset=utf-8",
                ".md": "text/markdown; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}  # fmt: skip
STATIC_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file() and path.suffix in STATIC_TYPES}


def console_router(access: ConsoleAccess, *, repo_url: str | None) -> APIRouter:
    """Every /console route: the pages (each behind `access.require_login`), the login and logout, the static files."""
    router = APIRouter(include_in_schema=False)
    public, guarded = access_routes(access)
    router.include_router(public)
    router.include_router(_static_router())
    signed_in = [Depends(access.require_login), Depends(_repo_url(repo_url))]
    router.include_router(guarded, dependencies=signed_in)
    router.include_router(journeys_page.router, dependencies=signed_in)
    router.include_router(journey_page.router, dependencies=signed_in)
    router.include_router(customer_page.router, dependencies=signed_in)
    return router


def install_console(app: FastAPI, access: ConsoleAccess, *, repo_url: str | None) -> None:
    """Serve the console on `app` at /console."""
    app.include_router(console_router(access, repo_url=repo_url))

    async def page_answer(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageAnswer)
        return exc.response

    app.add_exception_handler(PageAnswer, page_answer)


def _repo_url(repo_url: str | None):  # noqa: ANN202 (a FastAPI dependency)
    """Hands the pages the team's repository URL (`request.state.repo_url`): where each journey's YAML is read."""

    async def dependency(request: Request) -> None:
        request.state.repo_url = repo_url

    return dependency


def _static_router() -> APIRouter:
    static = APIRouter()

    @static.get(f"{PREFIX}/static/{{name}}")
    async def static_file(name: str) -> Response:
        path = STATIC_FILES.get(name)
        if path is None:
            return secured(Response("no such file", status_code=404, media_type="text/plain"))
        response = FileResponse(path, media_type=STATIC_TYPES[path.suffix])
        secured(response)
        # The files change only with the package: an hour in the browser's cache, then asked again.
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    return static


