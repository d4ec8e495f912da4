"""`journey customers`: one customer's key in the Temporal UI, and their rights (export, erase) on the store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli_support import EXIT_INVALID, EXIT_USAGE, data_dir_option, environment_checked, exit_after_temporal


@click.group()
def customers() -> None:
    """One customer: their key in the Temporal UI, and their rights (export, erase) on the store: docs/privacy.md."""


@customers.command(name="key")
@click.argument("customer_id")
@click.option(
    "--data-dir",
    default=".journey",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Without JOURNEY_HASH_SECRET: the `journey dev` whose secret to use.",
)
def customers_key(customer_id: str, data_dir: Path) -> None:
    """Print CUSTOMER_ID's customer key: its enrollments' workflow ids and CustomerId in the Temporal UI.

    The key is a keyed hash under JOURNEY_HASH_SECRET (or the secret `journey dev` keeps in
    --data-dir): without the secret, nobody can compute it from the id. Enrollments started
    before the secret was introduced carry the unkeyed key, printed second.
    """
    from orchestrator.host.local_keys import kept_hash_secret
    from orchestrator.host.settings import CustomerKeySettings
    from orchestrator.runtime.ids import CustomerKeys, unkeyed_customer_key

    with environment_checked():
        secret = CustomerKeySettings.read().hash_secret
    if secret is None:
        secret = kept_hash_secret(data_dir)
        if secret is None:
            click.echo(f"JOURNEY_HASH_SECRET is not set, and no `journey dev` keeps one in {data_dir}: set it as the API has it", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(f"(the secret of `journey dev` in {data_dir})", err=True)
    key, unkeyed = CustomerKeys(secret).key(customer_id), unkeyed_customer_key(customer_id)
    click.echo(f"customer key         {key}")
    click.echo(f"before keyed hashes  {unkeyed}  (enrollments started before JOURNEY_HASH_SECRET was set)")
    click.echo(f"Temporal UI query    CustomerId = '{key}' OR CustomerId = '{unkeyed}'")


@customers.command(name="export")
@click.argument("customer_id")
@data_dir_option
def customers_export(customer_id: str, data_dir: Path) -> None:
    """Print everything the store holds about CUSTOMER_ID as one JSON document."""
    import json

    from orchestrator.host.customers import export_customer
    from orchestrator.host.settings import CustomerSettings

    with environment_checked():
        document = export_customer(CustomerSettings.read(), customer_id, data_dir)
    if document is None:
        click.echo(f"no customer {customer_id!r}: the store holds nothing about them", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@customers.command(name="erase")
@click.argument("customer_id")
@data_dir_option
def customers_erase(customer_id: str, data_dir: Path) -> None:
    """Erase CUSTOMER_ID everywhere: end their enrollments, delete their Temporal histories and their rows in the store."""
    import asyncio
    import json
    from dataclasses import asdict

    from orchestrator.host.customers import erase_from_cli
    from orchestrator.host.settings import CustomerSettings
    from orchestrator.routing.calls import TemporalUnavailable

    try:
        with environment_checked():
            report = asyncio.run(erase_from_cli(CustomerSettings.read(), customer_id, data_dir))
    except (TemporalUnavailable, RuntimeError) as exc:  # RuntimeError: the client could not connect
        click.echo(f"not erased: {exc}; run the command again (it continues where this one stopped)", err=True)
        exit_after_temporal(EXIT_INVALID)
        return
    click.echo(json.dumps(asdict(report), indent=2, default=str))
    exit_after_temporal(0)
