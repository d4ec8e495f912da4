"""Temporal activities: every side effect of a journey (sends, profile writes, webhooks) lives here."""
