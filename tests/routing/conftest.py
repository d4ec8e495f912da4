"""The Router's fixtures for every routing test module: a store on SQLite and PostgreSQL, the fake gateway, the router."""

from tests.routing.test_routing import gateway, router, store

__all__ = ["gateway", "router", "store"]
