"""Customer keys (workflow ids, CustomerId) are keyed hashes: matching a known e-mail address needs the secret."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.host.local_keys import local_keys
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.runtime.ids import CustomerKeys
from tests.keys import CUSTOMER_KEYS, HASH_SECRET

EMAIL = "ann@example.com"


def test_a_customer_key_is_not_the_plain_hash_of_the_id_and_depends_on_the_secret() -> None:
    key = CUSTOMER_KEYS.key(EMAIL)
    assert key != hashlib.sha256(EMAIL.encode()).hexdigest()[:20]  # what anyone could compute before
    assert CustomerKeys(HashSecret(b"another-deployment's-secret")).key(EMAIL) != key
    assert EMAIL not in key and len(key) == 20


def test_a_customer_key_is_stable_for_one_secret() -> None:
    again = CustomerKeys(HashSecret(HASH_SECRET.key))
    assert again.key(EMAIL) == CUSTOMER_KEYS.key(EMAIL)
    assert again.enrollment_id("welcome", EMAIL, 2) == f"welcome-{CUSTOMER_KEYS.key(EMAIL)}-2"
    assert CUSTOMER_KEYS.key("bob@example.com") != CUSTOMER_KEYS.key(EMAIL)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        HashSecret(b"short")


def test_the_secret_never_shows_in_a_repr() -> None:
    assert "tests-hash-secret" not in repr(CUSTOMER_KEYS) and "tests-hash-secret" not in repr(HASH_SECRET)


def test_journey_customers_key_prints_the_key_an_operator_searches_the_temporal_ui_for(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["customers", "key", EMAIL], env={"JOURNEY_HASH_SECRET": HASH_SECRET.key.decode()})
    assert result.exit_code == 0, result.output
    key, unkeyed = CUSTOMER_KEYS.key(EMAIL), hashlib.sha256(EMAIL.encode()).hexdigest()[:20]
    assert result.stdout.splitlines() == [
        f"customer key         {key}",
        f"before keyed hashes  {unkeyed}  (enrollments started before JOURNEY_HASH_SECRET was set)",
        f"Temporal UI query    CustomerId = '{key}' OR CustomerId = '{unkeyed}'",
    ]


def test_journey_customers_key_uses_the_secret_journey_dev_keeps(tmp_path: Path) -> None:
    kept = local_keys(tmp_path / ".journey")
    arguments = ["customers", "key", EMAIL, "--data-dir", str(tmp_path / ".journey")]
    result = CliRunner().invoke(main, arguments, env={"JOURNEY_HASH_SECRET": ""})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"customer key         {CustomerKeys(kept.hash_secret).key(EMAIL)}"
    assert local_keys(tmp_path / ".journey") == kept  # made once, kept for every start after


def test_journey_customers_key_without_a_secret_says_what_to_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["customers", "key", EMAIL, "--data-dir", str(tmp_path)], env={"JOURNEY_HASH_SECRET": ""})
    assert result.exit_code == 2
    assert "JOURNEY_HASH_SECRET is not set" in result.output and EMAIL not in result.output
