"""The tables, as SQLAlchemy Core metadata: what the code reads and writes.

The migrations in `migrations/versions/` create and change the real schema; a
test checks that upgrading to head gives exactly these tables, so the two can
never drift apart silently.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

# `utc` is re-exported: the store's modules import it with the tables they write.
from orchestrator.store.column_types import AutoId, JSONData, UTCDateTime
from orchestrator.store.column_types import utc as utc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


customer_locks = Table(
    "customer_locks",
    metadata,
    # One row per customer, locked FOR UPDATE to serialize that customer's sessions (PostgreSQL).
    Column("customer_id", String, primary_key=True),
    # The routing lease (orchestrator/routing/lease.py): who routes this customer's calls, until when.
    Column("holder", String, nullable=True),
    Column("held_until", UTCDateTime, nullable=True),
)

profiles = Table(
    "profiles",
    metadata,
    Column("customer_id", String, primary_key=True),
    Column("email", String, nullable=True),
    Column("phone", String, nullable=True),
    Column("push_tokens", JSONData, nullable=False),
    Column("timezone", String, nullable=True),
    Column("locale", String, nullable=True),
    Column("email_opt_in", Boolean, nullable=False),
    Column("sms_opt_in", Boolean, nullable=False),
    Column("push_opt_in", Boolean, nullable=False),
    Column("traits", JSONData, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Twilio's inbound webhook finds the customer who texted STOP by their number (migration 0004).
    Index(None, "phone"),
)

identities = Table(
    "identities",
    metadata,
    # Anonymous ids merged into a known customer (migration 0015; docs/api.md, "Anonymous visitors"). An anonymous
    # profile is an ordinary profile whose id is `anonymous:<anonymousId>` (orchestrator/store/identities.py); once
    # merged, its rows belong to `customer_id` and calls naming the anonymous id reach that customer.
    Column("anonymous_id", String, primary_key=True),  # the anonymous profile's customer id ("anonymous:..."),
    Column("customer_id", String, nullable=False),  # the known customer it merged into: never another anonymous one,
    Column("merged_at", UTCDateTime, nullable=False),
    Column("message_id", String, nullable=False),  # the identify, track or alias call that merged them,
    Index(None, "customer_id"),
)

events = Table(
    "events",
    metadata,
    Column("message_id", String, primary_key=True),
    Column("customer_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("properties", JSONData, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "customer_id", "timestamp"),
)

journeys = Table(
    "journeys",
    metadata,
    Column("journey_id", String, primary_key=True),
    Column("active_version", String, nullable=True),  # NULL: deactivated,
    Column("updated_at", UTCDateTime, nullable=False),
)

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_id", String, ForeignKey("journeys.journey_id"), primary_key=True),
    Column("version", String, primary_key=True),
    Column("ir", Text, nullable=False),  # Journey.to_json(),
    Column("deployed_at", UTCDateTime, nullable=False),  # first deployment of this version,
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("enrollment_id", String, primary_key=True),
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("current_step", String, nullable=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    # Why it ended, in the journey file's words (migration 0007; NULL on rows finished before it, and when it completed).
    Column("end_reason", Text, nullable=True),
    # The broadcast cohort (one workflow for a page of customers) it runs in (migration 0014); NULL: a workflow of its own.
    Column("cohort_id", String, nullable=True),
    # 'merged' (migration 0015): it ended when its customer's anonymous profile merged into their known one, where the
    # same journey had an older enrollment running.
    CheckConstraint("status IN ('running', 'completed', 'converted', 'exited', 'holdout', 'failed', 'merged')", name="status"),
    Index(None, "customer_id", "status"),
    Index(None, "journey_id", "customer_id", "entered_at"),
    Index(None, "cohort_id"),  # a broadcast run's progress counts its cohorts' members
)

broadcast_runs = Table(
    "broadcast_runs",
    metadata,
    # One row per firing of a broadcast (migration 0014), written by its page activity: how far the paging got,
    # and whether it was cancelled. Its cohorts and their members say the rest (orchestrator/store/broadcasts.py).
    Column("run_key", String, primary_key=True),  # the broadcast workflow's id, unique per firing,
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),  # the version its first page enrolled into,
    Column("started_at", UTCDateTime, nullable=False),  # the scheduled time the run pages at,
    Column("profiles_at_start", BigInteger, nullable=False),  # profiles in the store when the first page was read,
    Column("pages", Integer, nullable=False),  # pages done,
    Column("last_customer", String, nullable=True),  # the last customer id read: the paging's cursor,
    Column("paged_at", UTCDateTime, nullable=True),  # when the paging found no more profiles (NULL: still paging, or cancelled),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Index(None, "journey_id", "started_at"),
)

broadcast_cohorts = Table(
    "broadcast_cohorts",
    metadata,
    # One row per cohort a broadcast page started (migration 0014), written in the transaction that indexes its members.
    Column("cohort_id", String, primary_key=True),  # the JourneyCohort workflow's id (orchestrator/runtime/ids.py),
    Column("run_key", String, nullable=False),
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),
    Column("page", Integer, nullable=False),
    Column("members", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Index(None, "run_key", "page"),
)

enrollment_problems = Table(
    "enrollment_problems",
    metadata,
    # What went wrong at a step without stopping the enrollment (a computed value that failed, a value the
    # profile refused, a webhook that could not be made...), migration 0007. The key is the delivery ledger's
    # plus the field, so a retried activity notes a problem once.
    Column("enrollment_id", String, primary_key=True),
    Column("step_id", String, primary_key=True),
    Column("visit", Integer, primary_key=True),
    Column("field", String, primary_key=True),  # the trait, or the webhook's url, headers.<Name>, body or call,
    Column("customer_id", String, nullable=False),
    Column("journey_id", String, nullable=False),
    Column("problem", Text, nullable=False),  # the expression or template as written and the error: never a rendered value,
    Column("occurred_at", UTCDateTime, nullable=False),  # the journey's clock when the step ran,
    Index(None, "customer_id", "occurred_at"),
)

PROVIDER_ID_SET = "provider_message_id IS NOT NULL"
"""The rows `ix_deliveries_provider_message_id` holds (migration 0006)."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("enrollment_id", String, primary_key=True),
    Column("step_id", String, primary_key=True),
    Column("visit", Integer, primary_key=True),
    Column("channel", String, nullable=False),
    Column("status", String, nullable=False),
    Column("provider_message_id", String, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Delivery controls (migration 0002); NULL on rows written before it.
    Column("customer_id", String, nullable=True),
    Column("journey_id", String, nullable=True),
    Column("category", String, nullable=True),  # marketing | transactional,
    Column("admitted_at", UTCDateTime, nullable=True),  # the journey clock when the gate let it go: it counts towards caps,
    # Provider webhooks (migration 0004). `message_ref` is the opaque id sent in SendGrid's custom_args
    # (a hash of the ledger key), so an event finds its row without PII; NULL before 0004 only if never backfilled.
    Column("message_ref", String, nullable=True),
    Column("provider_status", String, nullable=True),  # the furthest state the provider reported: delivered, open, bounce...,
    Column("provider_status_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('intent', 'sent', 'suppressed', 'failed')", name="status"),
    Index(None, "customer_id", "admitted_at"),
    Index(None, "message_ref"),
    # Only rows the provider accepted: a claim (written before the provider call) and a suppressed or
    # failed send have no id, so they write no entry here; a webhook's lookup by id always carries one.
    Index(None, "provider_message_id", sqlite_where=text(PROVIDER_ID_SET), postgresql_where=text(PROVIDER_ID_SET)),
)

provider_events = Table(
    "provider_events",
    metadata,
    # Every webhook event a provider sent, once: the primary key is how repeated deliveries are dropped
    # (SendGrid's sg_event_id, Twilio's MessageSid with the status it reports).
    Column("provider", String, primary_key=True),  # sendgrid | twilio,
    Column("event_id", String, primary_key=True),
    Column("kind", String, nullable=False),  # the provider's own name: delivered, open, bounce, undelivered, inbound STOP...,
    Column("customer_id", String, nullable=True),  # NULL when no delivery or profile matched,
    Column("enrollment_id", String, nullable=True),
    Column("step_id", String, nullable=True),
    Column("visit", Integer, nullable=True),
    Column("detail", Text, nullable=True),  # the provider's reason or error code,
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "customer_id", "occurred_at"),
    Index(None, "enrollment_id", "step_id", "visit"),
)

number_opt_outs = Table(
    "number_opt_outs",
    metadata,
    # A STOP (or Twilio's error 21610) from a number, until START from it: a profile that gets the number
    # later starts stopped, whoever it belongs to (carriers block the number, not the customer).
    Column("phone", String, primary_key=True),  # E.164,
    Column("keyword", String, nullable=False),  # STOP, QUIT... or "twilio error 21610",
    Column("opted_out_at", UTCDateTime, nullable=False),
)

consent_records = Table(
    "consent_records",
    metadata,
    # Every change of a customer's consent (migration 0008): the profile's `*_opt_in` is the state the gate
    # reads, these rows are how it came to be (orchestrator/store/consent.py). Written in the profile's transaction.
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("customer_id", String, nullable=False),
    Column("channel", String, nullable=False),  # email | sms | push,
    Column("opted_in", Boolean, nullable=False),  # whether the channel may carry marketing after this change,
    Column("source", String, nullable=False),  # identify, unsubscribe_link, sms_keyword, sendgrid, twilio, number_opt_out...,
    Column("evidence", String, nullable=True),  # the call's messageId, the inbound SMS's MessageSid, SendGrid's sg_event_id...,
    Column("detail", String, nullable=True),  # the keyword texted, the provider's event name,
    Column("occurred_at", UTCDateTime, nullable=False),  # when the customer gave or withdrew it (the sender's clock),
    Column("recorded_at", UTCDateTime, nullable=False),  # when it reached us,
    # Unique: a replayed call whose message id the events table no longer holds (pruned) records nothing twice.
    Index(None, "customer_id", "channel", "source", "evidence", unique=True),
)

profile_changes = Table(
    "profile_changes",
    metadata,
    # The profile's history (migration 0013): each write's changed keys, so the profile at any instant can be rebuilt
    # (orchestrator/store/profile_timeline.py). Written in the profile's transaction; `id` is the arrival order, in which
    # the changes apply (one customer's writes are serialized by the profile row's lock, so their ids are in commit order).
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("customer_id", String, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),  # the call's timestamp, as the profile used it,
    Column("source", String, nullable=False),  # identify, journey_update, number_opt_out, push_provider, baseline,
    Column("changes", JSONData, nullable=False),  # {key: stored value, or null where removed}; never the opt-ins,
    Index(None, "customer_id", "id"),  # a customer's history in order: profile_as_of, the bulk read, export, erasure
    Index(None, "changed_at"),  # retention finds what fell out of the window
)

erasures = Table(
    "erasures",
    metadata,
    # One row per erasure request (migration 0009): while `completed_at` is NULL the customer is being erased and
    # the router and the delivery gate refuse them; after, the audit: who, when, how many rows of each table went.
    # The customer is named by a keyed hash only (orchestrator/store/hashes.py), never in clear.
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("customer_hash", String, nullable=False),
    Column("requested_by", String, nullable=False),  # the API key's fingerprint, or "cli",
    Column("requested_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("guard_until", UTCDateTime, nullable=True),  # until when a send still in flight at the erasure is refused,
    Column("removed", JSONData, nullable=True),  # {table: rows deleted or scrubbed}, never the data itself,
    Index(None, "customer_hash"),
)

suppressions = Table(
    "suppressions",
    metadata,
    # The addresses of erased customers, as keyed hashes (migration 0009): a profile that gets one later starts
    # without marketing consent on its channel unless the same call gives it (docs/privacy.md, "Erasure").
    Column("address_hash", String, primary_key=True),
    Column("channel", String, nullable=False),  # email | sms | push,
    Column("suppressed_at", UTCDateTime, nullable=False),
    Column("stop_keyword", String, nullable=True),  # the STOP the number had texted, kept for the number as number_opt_outs did,
)

journey_facts = Table(
    "journey_facts",
    metadata,
    # What happened in the journeys, in the order it was recorded (migration 0011): analytics folds these into counts
    # and `GET /v1/facts` streams them to a warehouse. Each fact is written in the transaction of what it records
    # and never changed; `fact_key` makes a retried write a no-op (docs/analytics.md, "Facts").
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("kind", String, nullable=False),  # entered, reached, rested, message, provider, goal, response, ended,
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),
    Column("enrollment_id", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("fact_key", String, nullable=False),  # unique within the enrollment: "reached:<step>", "message:<step>:<visit>:sent"...,
    Column("step_id", String, nullable=True),
    Column("visit", Integer, nullable=True),
    Column("name", String, nullable=True),  # a split's arm, a message's channel, the metric's id, the goal's event,
    Column("status", String, nullable=True),  # sent, suppressed, held, delivered, opened..., how an enrollment ended, a metric's bucket,
    Column("detail", Text, nullable=True),  # a suppression's or an ending's reason, the provider's own event name,
    Column("value", Float, nullable=True),  # the goal's value, a survey answer,
    Column("occurred_at", UTCDateTime, nullable=False),  # the journey's clock, or the event's timestamp,
    Column("recorded_at", UTCDateTime, nullable=False),
    # The order facts are folded and streamed in, with `id`: the writing transaction's id on PostgreSQL, where ids
    # from the sequence commit out of order (orchestrator/store/journey_facts.py, "Order"); 0 on SQLite, whose
    # writes are serialized and whose ids (AUTOINCREMENT: never reused) are in commit order.
    Column("xact", BigInteger, nullable=False),
    Index(None, "enrollment_id", "fact_key", unique=True),
    Index(None, "xact", "id"),
    Index(None, "customer_id"),  # erasure and export find a customer's facts by it
    sqlite_autoincrement=True,
)

fold_position = Table(
    "fold_position",
    metadata,
    # One row (made by the first fold): the last fact folded into the counts below (migration 0012). Locked FOR UPDATE
    # on PostgreSQL (SQLite's writer lock serves) so that each fact is folded exactly once (orchestrator/store/fold.py).
    Column("id", Integer, primary_key=True),
    Column("xact", BigInteger, nullable=False),
    Column("fact_id", BigInteger, nullable=False),
)

enrollment_summaries = Table(
    "enrollment_summaries",
    metadata,
    # What the fold keeps of each enrollment's facts (migration 0012): enough to work out its part of the counts again
    # when a later fact changes it (orchestrator/store/fact_summary.py). Erased with the customer, pruned with the enrollment.
    Column("enrollment_id", String, primary_key=True),
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),
    Column("customer_id", String, nullable=False),
    Column("entered_at", UTCDateTime, nullable=True),  # NULL until its `entered` fact is folded,
    Column("cohort_day", String, nullable=True),  # YYYY-MM-DD, UTC, of entered_at,
    Column("converted", Boolean, nullable=False),
    Column("arms", String, nullable=False),  # "split=arm" pairs, for the maturity boundary's count per arm,
    Column("state", Text, nullable=False),  # the rest, as JSON,
    Index(None, "journey_id", "version", "cohort_day"),
    Index(None, "journey_id", "customer_id"),
    Index(None, "customer_id"),
)

journey_day_counts = Table(
    "journey_day_counts",
    metadata,
    # The journey facts folded into counts per UTC day (migration 0012; it replaces 0010's daily_counts): by the day the
    # enrollment entered (its cohort) for the report's funnel, arms and metrics, by the day it happened for the daily
    # series (`measure` day_*). No customer in them: they outlive pruned and erased rows (orchestrator/store/fold.py).
    Column("journey_id", String, primary_key=True),
    Column("version", String, primary_key=True),
    Column("day", String, primary_key=True),  # YYYY-MM-DD, UTC,
    Column("measure", String, primary_key=True),  # entered, running, ended, reached, resting, message, converted, ...,
    Column("step_id", String, primary_key=True),  # each part '' where it does not apply,
    Column("name", String, primary_key=True),
    Column("status", String, primary_key=True),
    Column("detail", String, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("total", Float, nullable=False),  # sum of the values counted (a goal's, an answer's),
    Column("total_of_squares", Float, nullable=False),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("customer_id", String, nullable=False),
    Column("enrollment_id", String, nullable=False),
    Column("journey_id", String, nullable=False),
    Column("version", String, nullable=False),
    Column("step_id", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("to_address", String, nullable=False),
    Column("subject", Text, nullable=True),
    Column("body", Text, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Index(None, "customer_id", "sent_at", "id"),
)
