"""The HTTP API (FastAPI): Segment-spec identify/track/batch, customer lookups, unsubscribe links, provider webhooks, health.

`create_app(store, connect, ...)` builds the app; `serve(app, host, port)` runs it.
Modules: `app` (factory, lifespan, threading model), `payloads` (request models),
`answers` (response models), `auth` (API keys), `errors` (error shapes and handlers),
`ingest`, `customers`, `unsubscribe`, `webhooks`, `codec`, `ops` (endpoints), `state` (what
endpoints share), `server` (uvicorn), `sender` (`journey send`). Reference: docs/api.md.
"""

from orchestrator.api.app import create_app
from orchestrator.api.server import serve
from orchestrator.api.state import ApiSettings

__all__ = ["ApiSettings", "create_app", "serve"]
