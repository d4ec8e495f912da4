"""Channel providers behind one interface (`base.Provider`): SendGrid email, Twilio SMS, FCM push, the sandbox.

`providers_from_env()` picks, per channel, the real provider whose credentials are
set and the sandbox otherwise; `journey dev` prints the choice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from activities.providers.base import PermanentFailure, Provider, ProviderResult, RetryableFailure, message_reference
from activities.providers.sandbox import Sandbox

__all__ = [
    "ChannelProviders",
    "PermanentFailure",
    "Provider",
    "ProviderResult",
    "ProviderSettingsError",
    "RetryableFailure",
    "Sandbox",
    "message_reference",
    "providers_from_env",
]

CHANNELS = ("email", "sms", "push")
UNSUBSCRIBE_SECRET = "JOURNEY_UNSUBSCRIBE_SECRET"


class ProviderSettingsError(ValueError):
    """The environment configures a provider incompletely or unsafely: the worker must not start."""


@dataclass
class ChannelProviders:
    """The provider of each channel; a channel not named goes to the sandbox."""

    by_channel: dict[str, Provider] = field(default_factory=dict)
    sandbox: Sandbox = field(default_factory=Sandbox)

    def for_channel(self, channel: str) -> Provider:
        return self.by_channel.get(channel, self.sandbox)

    def describe(self) -> dict[str, str]:
        """`{channel: "twilio (+15550100, https://api.twilio.com)"}` for every channel."""
        return {channel: self.for_channel(channel).describe() for channel in CHANNELS}


def providers_from_env(env: Mapping[str, str] | None = None) -> ChannelProviders:
    """Real providers for the channels whose credentials `env` (default: os.environ) holds; the sandbox for the rest."""
    from activities.providers.fcm_push import FcmPush, FcmSettings
    from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
    from activities.providers.twilio_sms import TwilioSettings, TwilioSms

    env = os.environ if env is None else env
    chosen: dict[str, Provider] = {}
    try:
        if (email := SendGridSettings.from_env(env)) is not None:
            chosen["email"] = SendGridEmail(email)
        if (sms := TwilioSettings.from_env(env)) is not None:
            chosen["sms"] = TwilioSms(sms)
        if (push := FcmSettings.from_env(env)) is not None:
            chosen["push"] = FcmPush(push)
    except ValueError as exc:
        raise ProviderSettingsError(str(exc)) from exc
    if "email" in chosen and not env.get(UNSUBSCRIBE_SECRET):
        # Real inboxes get marketing email whose unsubscribe links are signed with this key; the
        # development key is public, so anyone could unsubscribe anyone.
        raise ProviderSettingsError(
            f"SENDGRID_API_KEY is set, so email goes to real inboxes: set {UNSUBSCRIBE_SECRET} to a long random string"
            f" (e.g. $(openssl rand -hex 32)) so its unsubscribe links cannot be forged"
        )
    return ChannelProviders(chosen)
