"""Channel providers behind one interface (`base.Provider`): SendGrid email, Twilio SMS, FCM push, the sandbox.

`build_providers(settings)` makes, per channel, the real provider whose settings are
given (read from the environment by orchestrator/host/settings.py) and the sandbox
otherwise; `journey dev` prints the choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from activities.providers.base import PermanentFailure, Provider, ProviderResult, RetryableFailure, message_reference
from activities.providers.sandbox import Sandbox

if TYPE_CHECKING:
    from activities.providers.fcm_push import FcmSettings
    from activities.providers.sendgrid_email import SendGridSettings
    from activities.providers.twilio_sms import TwilioSettings

__all__ = [
    "ChannelProviders",
    "PermanentFailure",
    "Provider",
    "ProviderResult",
    "ProviderSettings",
    "ProviderSettingsError",
    "RetryableFailure",
    "Sandbox",
    "build_providers",
    "message_reference",
]

CHANNELS = ("email", "sms", "push")


class ProviderSettingsError(ValueError):
    """A provider's SDK refuses the credentials it is given (a service-account key that does not load): the worker must not start."""


@dataclass(frozen=True)
class ProviderSettings:
    """The real provider of each channel that has credentials; a channel left None goes to the sandbox."""

    email: SendGridSettings | None = None
    sms: TwilioSettings | None = None
    push: FcmSettings | None = None


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


def build_providers(settings: ProviderSettings) -> ChannelProviders:
    """The SDK client of each configured provider; the sandbox for the other channels."""
    from activities.providers.fcm_push import FcmPush
    from activities.providers.sendgrid_email import SendGridEmail
    from activities.providers.twilio_sms import TwilioSms

    chosen: dict[str, Provider] = {}
    try:
        if settings.email is not None:
            chosen["email"] = SendGridEmail(settings.email)
        if settings.sms is not None:
            chosen["sms"] = TwilioSms(settings.sms)
        if settings.push is not None:
            chosen["push"] = FcmPush(settings.push)
    except ValueError as exc:
        raise ProviderSettingsError(str(exc)) from exc
    return ChannelProviders(chosen)
