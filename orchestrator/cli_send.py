"""`journey send`: identify, track and alias calls to a running API, from the command line."""

from __future__ import annotations

import sys
from typing import Any

import click


@click.group()
def send() -> None:
    """Send identify, track and alias calls to a running API (`journey dev` or `journey api`)."""


# Their variables are rows of orchestrator/host/variables.py (tests/host/test_settings.py checks it); named
# here, because importing that table would make every command start slower.
_send_url = click.option(
    "--url", default="http://127.0.0.1:8080", show_default=True, envvar="JOURNEY_API_URL", help="The API (env JOURNEY_API_URL)."
)
_send_key = click.option("--api-key", envvar="JOURNEY_API_KEY", default=None, help="Bearer API key (env JOURNEY_API_KEY).")
_send_message_id = click.option("--message-id", default=None, help="Sending the same id again has no effect. Default: generated.")
_send_anonymous = click.option("--anonymous", is_flag=True, help="USER_ID is a visitor's anonymousId: they have not logged in.")
_send_anonymous_id = click.option(
    "--anonymous-id", default=None, metavar="ID", help="The visitor USER_ID was before logging in: their profiles merge."
)


def _who(user_id: str, anonymous: bool, anonymous_id: str | None) -> dict[str, str]:
    """The call's ids (docs/api.md, "Anonymous visitors")."""
    if anonymous and anonymous_id is not None:
        raise click.UsageError("--anonymous and --anonymous-id exclude each other: a visitor who logs in is USER_ID with --anonymous-id")
    if anonymous:
        return {"anonymousId": user_id}
    return {"userId": user_id} | ({"anonymousId": anonymous_id} if anonymous_id is not None else {})


@send.command(name="identify")
@click.argument("user_id")
@click.option("--trait", "traits", multiple=True, metavar="KEY=VALUE", help="A trait; VALUE is parsed as JSON when it is (42, true).")
@click.option("--traits-json", default=None, metavar="JSON", help="Traits as one JSON object (--trait values win).")
@_send_anonymous
@_send_anonymous_id
@_send_message_id
@_send_url
@_send_key
def send_identify(
    user_id: str,
    traits: tuple[str, ...],
    traits_json: str | None,
    anonymous: bool,
    anonymous_id: str | None,
    message_id: str | None,
    url: str,
    api_key: str | None,
) -> None:
    """Identify USER_ID: create or update their profile."""
    from orchestrator.api.sender import SendError, assignments

    try:
        payload = {**_who(user_id, anonymous, anonymous_id), "traits": assignments(traits, traits_json, what="trait")}
    except SendError as exc:
        raise click.UsageError(str(exc)) from exc
    _post(url, "/v1/identify", payload, message_id, api_key)


@send.command(name="track")
@click.argument("user_id")
@click.argument("event")
@click.option("--prop", "props", multiple=True, metavar="KEY=VALUE", help="A property; VALUE is parsed as JSON when it is (42, true).")
@click.option("--properties-json", default=None, metavar="JSON", help="Properties as one JSON object (--prop values win).")
@_send_anonymous
@_send_anonymous_id
@_send_message_id
@_send_url
@_send_key
def send_track(
    user_id: str,
    event: str,
    props: tuple[str, ...],
    properties_json: str | None,
    anonymous: bool,
    anonymous_id: str | None,
    message_id: str | None,
    url: str,
    api_key: str | None,
) -> None:
    """Track EVENT for USER_ID."""
    from orchestrator.api.sender import SendError, assignments

    try:
        payload = {**_who(user_id, anonymous, anonymous_id), "event": event, "properties": assignments(props, properties_json, what="prop")}
    except SendError as exc:
        raise click.UsageError(str(exc)) from exc
    _post(url, "/v1/track", payload, message_id, api_key)


@send.command(name="alias")
@click.argument("previous_id")
@click.argument("user_id")
@_send_message_id
@_send_url
@_send_key
def send_alias(previous_id: str, user_id: str, message_id: str | None, url: str, api_key: str | None) -> None:
    """The visitor PREVIOUS_ID (an anonymousId) is the customer USER_ID: their anonymous profile merges into USER_ID's."""
    _post(url, "/v1/alias", {"previousId": previous_id, "userId": user_id}, message_id, api_key)


def _post(url: str, path: str, payload: dict[str, Any], message_id: str | None, api_key: str | None) -> None:
    """Post, print the answer; exit 1 unless it is 2xx."""
    import httpx

    from orchestrator.api.sender import post

    if message_id:
        payload["messageId"] = message_id
    try:
        answer = post(url, path, payload, api_key)
    except httpx.HTTPError as exc:
        click.echo(f"cannot reach the API at {url}: {exc} (is `journey dev` or `journey api` running?)", err=True)
        sys.exit(1)
    click.echo(answer.pretty())
    if not answer.ok:
        click.echo(f"HTTP {answer.status}", err=True)
        sys.exit(1)
