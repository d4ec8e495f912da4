"""The workflow fixtures of tests/runtime (one time-skipping server per session), for the end-to-end tests here."""

from tests.runtime.conftest import env, simulator, store

__all__ = ["env", "simulator", "store"]
