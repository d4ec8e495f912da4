"""Routing: which journeys an identify or track call enrolls a customer in, and which enrollments it reaches.

`calls` holds what routing takes in and hands out (identify and track calls,
outcomes, the Temporal calls and the gateway that makes them); `catalog` the
active journeys and every version seen; `entry` the entry rules (trigger,
audience, re-entry), shared with the simulator; `router` plans and applies routed
calls against the store; `measurement` the goals and survey answers a tracked
event records as journey facts; `lease` keeps one customer's calls in order across
processes; `gateway` is the Temporal side (start and signal enrollments, ask
where they are). The API, the webhooks and the broadcast activity route
through here.
"""
