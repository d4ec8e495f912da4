"""Provider webhooks: what SendGrid and Twilio tell us about our messages, and replies such as STOP.

Each provider module verifies a request's signature and reads its payload into
a `WebhookPlan` (plan.py): the identify and track calls the customers' runtime
gets, the rows of the provider event log, and the ledger states to record.
`apply_plan` applies it. The HTTP side is orchestrator/api/webhooks.py; the
operator's guide is docs/delivery.md, "Provider webhooks".
"""
