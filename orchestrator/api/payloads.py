"""Request bodies of the ingestion endpoints: Segment's HTTP tracking API spec, as pydantic models.

Only the fields routing uses are declared; everything else a pipeline sends
(`sentAt`, `integrations`, `context`'s contents...) is accepted and ignored, so
existing Segment and RudderStack destinations work unchanged. A call names its
customer by `userId`, `anonymousId` (a visitor not logged in: an anonymous
profile), or both (the visitor is that customer: the two merge; docs/api.md,
"Anonymous visitors").
The models turn into routing calls with `to_call`, which fills in what
Segment fills in: a generated `messageId` and `timestamp` = now.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from orchestrator.routing.calls import AliasCall, Call, IdentifyCall, TrackCall
from orchestrator.store.identities import ANONYMOUS_PREFIX, anonymous_customer_id, is_anonymous

MAX_BATCH = 10_000
"""Items in one /v1/batch call. Segment sends at most 500 KB per batch, a few thousand events."""
MAX_BODY_BYTES = 5 * 1024 * 1024
"""One request body, any endpoint (413 above): ten times Segment's largest batch; provider webhooks send far less.
The limits inside one call, chosen from Temporal's payload limit, are in limits.py."""


def _id_text(value: Any) -> Any:
    """Customer ids are strings; numeric ids, which some pipelines send, are taken as their decimal text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _printable_id(value: str) -> str:
    """A customer id is typed into URLs and looked up by support: one holding a newline, a NUL or
    another control character would be stored, then never be reachable by the customer endpoints."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters (newline, tab, NUL...)")
    return value


NonBlank = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]
CustomerId = Annotated[NonBlank, BeforeValidator(_id_text), AfterValidator(_printable_id)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]


def _not_anonymous(value: str) -> str:
    """The anonymous profiles' ids begin so (orchestrator/store/identities.py): a customer id must not, or it would be one."""
    if is_anonymous(value):
        raise ValueError(f"must not begin with {ANONYMOUS_PREFIX!r}, which names anonymous profiles; send the visitor's id as anonymousId")
    return value


UserId = Annotated[CustomerId, AfterValidator(_not_anonymous)]


class _Identified(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: NonBlank | None = Field(
        default=None,
        alias="messageId",
        description="Unique per call: a repeated id has effect once. Generated when missing (then retries cannot be de-duplicated).",
    )
    timestamp: datetime | None = Field(default=None, description="When it happened, ISO 8601 (UTC if no offset). Default: now.")
    context: dict[str, Any] | None = Field(default=None, description="Accepted and ignored.")

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
            raise ValueError("is out of range once converted to UTC") from None

    def _when(self, received_at: datetime) -> dict[str, Any]:
        message_id = self.message_id or f"api-{uuid.uuid4()}"
        return {"message_id": message_id, "timestamp": self.timestamp or received_at, "received_at": received_at}


class _Call(_Identified):
    user_id: UserId | None = Field(
        default=None, alias="userId", description="The customer's id in your systems (the profile key). This or anonymousId is required."
    )
    anonymous_id: CustomerId | None = Field(
        default=None,
        alias="anonymousId",
        description="A visitor not logged in (a device or browser id). With userId too: the visitor is that customer, and the two merge.",
    )

    @model_validator(mode="after")
    def _someone(self) -> _Call:
        if self.user_id is None and self.anonymous_id is None:
            raise PydanticCustomError("missing_customer", "userId or anonymousId is required")
        return self

    def _common(self, received_at: datetime) -> dict[str, Any]:
        anonymous = anonymous_customer_id(self.anonymous_id) if self.anonymous_id is not None else None
        if self.user_id is None:
            assert anonymous is not None
            return {"customer_id": anonymous, **self._when(received_at)}
        return {"customer_id": self.user_id, "anonymous_id": anonymous, **self._when(received_at)}


class IdentifyPayload(_Call):
    """`POST /v1/identify`: who the customer is. Traits merge into the profile; a null trait removes it."""

    traits: dict[str, Any] | None = Field(default=None, description="Profile traits; email, phone, timezone, locale... are validated.")

    def to_call(self, received_at: datetime) -> IdentifyCall:
        return IdentifyCall(traits=dict(self.traits or {}), **self._common(received_at))


class TrackPayload(_Call):
    """`POST /v1/track`: something the customer did."""

    event: EventName = Field(description="The event name, as journeys' triggers, goals and waits name it.")
    properties: dict[str, Any] | None = Field(default=None, description="Event properties (`event.<name>` in journeys).")

    def to_call(self, received_at: datetime) -> TrackCall:
        return TrackCall(event=self.event, properties=dict(self.properties or {}), **self._common(received_at))


class IdentifyItem(IdentifyPayload):
    type: Literal["identify"]


class AliasPayload(_Identified):
    """`POST /v1/alias`: the visitor `previousId` (an anonymousId) is the customer `userId`; their profiles merge."""

    previous_id: CustomerId = Field(alias="previousId", description="The visitor's anonymousId.")
    user_id: UserId = Field(alias="userId", description="The customer's id in your systems.")

    def to_call(self, received_at: datetime) -> AliasCall:
        return AliasCall(self.user_id, anonymous_customer_id(self.previous_id), **self._when(received_at))


class TrackItem(TrackPayload):
    type: Literal["track"]


class AliasItem(AliasPayload):
    type: Literal["alias"]


BatchItem = Annotated[IdentifyItem | TrackItem | AliasItem, Field(discriminator="type")]
BATCH_TYPES = ("identify", "track", "alias")
"""The `type` tags of batch items (they appear in pydantic's error locations)."""


class BatchPayload(BaseModel):
    """`POST /v1/batch`: identify, track and alias calls, applied in order, all or nothing."""

    model_config = ConfigDict(extra="ignore")

    batch: list[BatchItem] = Field(max_length=MAX_BATCH)

    def to_calls(self, received_at: datetime) -> list[Call]:
        return [item.to_call(received_at) for item in self.batch]
