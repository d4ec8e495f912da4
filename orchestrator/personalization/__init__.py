"""Personalizing messages: locale-aware filters, per-locale template variants, plain text, unsubscribe links.

Everything here is pure (no I/O: the unsubscribe settings are read from the
environment by orchestrator/host/settings.py), so the compiler can use the filters
to check templates and the send activity can use all of it to build a message.
"""
