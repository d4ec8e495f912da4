"""Serving the app with uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8080, *, log_level: str = "info") -> None:
    """Serve `app` until SIGINT/SIGTERM (blocking; runs its own event loop, which drives the Temporal client).

    To run the API next to other work on one loop (`journey dev`), use `uvicorn.Server(...).serve()` instead.
    """
    # No access log: a path can hold a customer id (GET /v1/customers/{id}/journeys). A refused call is logged by the
    # error handlers with its route's template (orchestrator/api/errors.py); uvicorn's own records go to the root
    # logger the process configured (log_config=None), in its format.
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on", proxy_headers=True, access_log=False, log_config=None)
