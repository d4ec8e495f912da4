"""The console: server-rendered pages at /console where marketers see their journeys and customers (docs/console.md).

Served by the API process (orchestrator/api/app.py includes `console_router`). Pages are FastAPI routes
rendering Jinja2 templates; the few interactive bits use htmx, vendored in `static/` with its licence,
so the console works offline and behind a firewall. Every count comes from the functions the API
answers with (orchestrator/store/journey_stats.py and the store sessions), never from a page's own sum.
"""
