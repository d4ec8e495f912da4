"""Provider webhooks: what SendGrid and Twilio tell us about our messages, and replies such as STOP.

A request's signature is checked first (sendgrid_signature.py, twilio_signature.py);
then its payload is read into a `WebhookPlan` (plan.py) by sendgrid_events.py,
twilio_status.py or twilio_inbound.py: the identify and track calls routing applies,
the rows of the provider event log, the ledger states to record and the STOP or
START of a phone number. `apply_plan` applies it; errors.py says why a request was
not applied. The HTTP side is orchestrator/api/webhooks.py; the operator's guide is
docs/delivery.md, "Provider webhooks".
"""
