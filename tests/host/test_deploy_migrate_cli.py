"""`journey deploy --migrate`: a migration that cannot be done as written deploys nothing and says why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from orchestrator.cli import main
from orchestrator.host.deployment import compile_for_deploy
from orchestrator.store import Store

CART = """\
id: cart
name: Cart
trigger: {event: checkout_started}
steps:
  - id: nap
    wait: 1d
  - id: remind
    send: {channel: email, subject: "Your cart", body: "x"}
"""


def deploy(store: Store, folder: Path, *args: str) -> Result:
    # Temporal is out of reach on purpose: a refused migration must not get as far as connecting.
    env = {"DATABASE_URL": store.url, "TEMPORAL_ADDRESS": "127.0.0.1:9", "JOURNEY_PAYLOAD_KEYS": "none"}
    return CliRunner().invoke(main, ["deploy", str(folder), *args], env=env)


def active(store: Store) -> dict[str, str]:
    with store.read() as session:
        return {journey.id: journey.version for journey in session.active_journeys()}


def test_map_needs_migrate_and_its_form(store: Store, tmp_path: Path) -> None:
    (tmp_path / "cart.yaml").write_text(CART)
    alone = deploy(store, tmp_path, "--map", "nap=nap")
    assert alone.exit_code == 2 and "--map goes with --migrate JOURNEY_ID" in alone.output
    malformed = deploy(store, tmp_path, "--migrate", "cart", "--map", "nap")
    assert malformed.exit_code == 2 and "write OLD_STEP=NEW_STEP" in malformed.output


def test_a_migration_that_names_no_journey_or_step_deploys_nothing(store: Store, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "cart.yaml").write_text(CART)
    (first,), _ = compile_for_deploy([old])
    with store.session() as session:
        session.deploy(first, datetime.now(UTC))
    new = tmp_path / "new"
    new.mkdir()
    (new / "cart.yaml").write_text(CART.replace("wait: 1d", "wait: 2d").replace("id: nap", "id: pause"))

    unknown = deploy(store, new, "--migrate", "kart")
    assert unknown.exit_code == 1, unknown.output
    assert "--migrate kart: no such journey among those deployed (ids: cart)" in unknown.output
    typo = deploy(store, new, "--migrate", "cart", "--map", "naps=pause")
    assert typo.exit_code == 1, typo.output
    assert f"--map naps=pause: no older version has a step naps (versions: {first.version})" in typo.output
    assert "nothing deployed" in typo.output
    assert active(store) == {"cart": first.version}
