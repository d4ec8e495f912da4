"""Journey Orchestrator: Git-first customer journeys executed on Temporal."""

__version__ = "0.1.0"
