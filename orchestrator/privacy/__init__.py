"""Keeping personal data out of the systems that do not need it.

`keyed_hash.py`: `HashSecret`, an HMAC-SHA256 under a secret, one purpose per use, for the values
that stand for personal data where the data itself must not be kept (the suppression entries of
erased addresses); without the secret, knowing an address does not find its entry.

This package imports nothing of ours, so every layer may use it (docs/architecture.md, the map).
It never reads the environment: the secret is given to it by orchestrator/host/settings.py.
docs/privacy.md says what is protected where.
"""
