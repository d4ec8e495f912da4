"""Personalizing messages: locale-aware filters, per-locale template variants, plain text, unsubscribe links.

Everything here is pure (no I/O besides reading environment variables in
`unsubscribe.UnsubscribeConfig.from_env`), so the compiler can use the filters
to check templates and the send activity can use all of it to build a message.
"""
