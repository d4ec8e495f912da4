"""The keys `journey dev` keeps in its data dir: made on first start, kept for every start after.

A production process reads its keys from the environment and refuses to start without
them (orchestrator/host/settings.py). The local stack needs keys too, since it runs the
same code, but nobody should have to make one to try a journey: the first `journey dev`
generates a payload key and a hash secret under `--data-dir` (files only the user can
read), and later starts use them, so its Temporal histories stay readable and its
customer keys stable across restarts. `journey customers key` reads the hash secret from
there when JOURNEY_HASH_SECRET is unset.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.privacy.payload_codec import PayloadKey, PayloadKeys

PAYLOAD_KEYS_FILE = "payload-keys"
"""JOURNEY_PAYLOAD_KEYS's form: `dev:<base64 key>`."""
HASH_SECRET_FILE = "hash-secret"
"""JOURNEY_HASH_SECRET's form: 64 hex digits."""


@dataclass(frozen=True)
class LocalKeys:
    payload_keys: PayloadKeys
    hash_secret: HashSecret


def local_keys(data_dir: Path) -> LocalKeys:
    """The keys kept in `data_dir`, each made now if it is not there yet."""
    data_dir.mkdir(parents=True, exist_ok=True)
    payload = _kept(data_dir / PAYLOAD_KEYS_FILE, lambda: PayloadKeys((PayloadKey.generate("dev"),)).text())
    secret = _kept(data_dir / HASH_SECRET_FILE, lambda: secrets.token_hex(32))
    return LocalKeys(PayloadKeys.parse(payload), HashSecret(secret.encode()))


def kept_hash_secret(data_dir: Path) -> HashSecret | None:
    """The hash secret a `journey dev` in `data_dir` made, if one did."""
    path = data_dir / HASH_SECRET_FILE
    return HashSecret(path.read_text().strip().encode()) if path.is_file() else None


def _kept(path: Path, make: Callable[[], str]) -> str:
    """The text of `path`; if there is none, `make()`'s, written so only the user can read it."""
    if not path.exists():
        try:
            # O_EXCL: two processes starting at once on one data dir keep the same key, the first one's.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(make() + "\n")
    return path.read_text().strip()
