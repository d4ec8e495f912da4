"""`journey dev` end to end, as a user runs it: a real process, real ports, Ctrl-C to stop, state kept on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.host.devserver import free_port, port_free
from tests.stack.devstack_process import SHORT_CART, DevStack, temporal_server_pid
from tests.stack.processes import process_gone

SLOW_WELCOME = """\
id: slow_welcome
name: Welcome, after a nap long enough to stop and restart the stack in
trigger: {event: signed_up}
steps:
  - id: nap
    wait: 6s
  - id: welcome
    send: {channel: email, subject: "Welcome, {{ customer.first_name }}", body: "Glad you are here."}
"""

CART = {"event": "checkout_started", "properties": {"cart_value": 50, "cart_url": "https://shop.example/cart/1"}}


def cart_folder(root: Path, **more: str) -> Path:
    """A fresh journeys folder with the quick cart journey and `more` (name: YAML)."""
    folder = root / "journeys"
    folder.mkdir(parents=True)
    for name, text in {"quick_cart": SHORT_CART, **more}.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def identify(stack: DevStack, customer: str, first_name: str) -> None:
    answer = stack.post("/v1/identify", {"userId": customer, "traits": {"email": f"{customer}@example.com", "first_name": first_name}})
    assert answer.status_code == 200, answer.text


def track(stack: DevStack, customer: str, event: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    payload = {"userId": customer, **event} | ({"messageId": message_id} if message_id else {})
    answer = stack.post("/v1/track", payload)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def messages(stack: DevStack, customer: str) -> list[dict[str, Any]]:
    answer = stack.get(f"/v1/customers/{customer}/messages")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["messages"]
    return found


def enrollment(stack: DevStack, customer: str) -> dict[str, Any]:
    """The customer's one enrollment, as GET /v1/customers/{id}/journeys shows it."""
    answer = stack.get(f"/v1/customers/{customer}/journeys")
    assert answer.status_code == 200, answer.text
    (only,) = answer.json()["journeys"]
    return dict(only)


def wait_for_steps(stack: DevStack, customer: str, steps: list[str], timeout: float = 30) -> list[dict[str, Any]]:
    body = stack.wait_for(f"/v1/customers/{customer}/messages", lambda b: [m["step"] for m in b["messages"]] == steps, timeout)
    found: list[dict[str, Any]] = body["messages"]
    return found


@pytest.fixture
def stacks() -> Iterator[list[DevStack]]:
    """The `journey dev` processes of a test; each is stopped (or killed) at the end, with its Temporal server."""
    started: list[DevStack] = []
    try:
        yield started
    finally:
        for stack in started:
            stack.close()


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """One `journey dev` on a fresh folder and data dir, shared by the tests that do not stop it."""
    root = tmp_path_factory.mktemp("dev")
    stack = DevStack(cart_folder(root), root / ".journey")
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


def test_dev_prints_where_everything_runs(dev_stack: DevStack) -> None:
    shown = dev_stack.text.splitlines()
    assert f"API          {dev_stack.url}  (no API key needed: set JOURNEY_API_KEYS to require one)" in shown
    assert f"Console      {dev_stack.url}/console" in shown
    assert f"Temporal     {dev_stack.temporal_address}" in shown
    for channel in ("email", "sms", "push"):
        (provider,) = [line for line in shown if line.split()[:1] == [channel]]
        assert "sandbox" in provider and "/v1/customers/{id}/messages" in provider
    assert any(line.split()[:2] == ["deployed", "quick_cart"] for line in shown)
    assert dev_stack.get("/healthz").json()["status"] == "ok"


def test_cart_reminder_and_nudge_arrive_on_time_unless_the_email_is_opened(dev_stack: DevStack) -> None:
    identify(dev_stack, "ann", "Ann")
    identify(dev_stack, "bob", "Bob")
    asked = time.monotonic()
    (ann_enrollment,) = track(dev_stack, "ann", CART)["enrolled"]
    track(dev_stack, "bob", CART)
    # Until the worker has run the enrollment's first task, its step is unknown (null): poll.
    dev_stack.wait_for("/v1/customers/ann/journeys", lambda b: b["journeys"][0]["current_step"] == "wait_a_moment", 2)
    ann = enrollment(dev_stack, "ann")
    assert (ann["enrollment_id"], ann["status"]) == (ann_enrollment, "running")
    if time.monotonic() - asked < 2:  # true on any machine that is not badly overloaded: nothing can be due yet
        assert messages(dev_stack, "ann") == []

    (reminder,) = wait_for_steps(dev_stack, "ann", ["reminder"])
    assert time.monotonic() - asked >= 2
    assert timedelta(seconds=2) <= at(reminder["sent_at"]) - at(ann["entered_at"]) < timedelta(seconds=12)
    assert reminder["subject"] == "Ann, you left 50 behind"
    assert reminder["to"] == "ann@example.com" and reminder["body"].startswith("Your cart: https://shop.example/cart/1")
    assert "/v1/unsubscribe/" in reminder["body"]  # marketing email always carries an unsubscribe link
    dev_stack.wait_for("/v1/customers/ann/journeys", lambda b: b["journeys"][0]["current_step"] == "opened", 10)

    (bob_reminder,) = wait_for_steps(dev_stack, "bob", ["reminder"])
    opened = track(dev_stack, "bob", {"event": "email_opened", "properties": {}})
    assert opened["signalled"] == [enrollment(dev_stack, "bob")["enrollment_id"]]

    reminder, nudge = wait_for_steps(dev_stack, "ann", ["reminder", "nudge"])
    assert timedelta(seconds=3) <= at(nudge["sent_at"]) - at(reminder["sent_at"]) < timedelta(seconds=13)
    assert nudge["subject"] == "Still thinking?"
    ann = enrollment(dev_stack, "ann")
    assert (ann["status"], ann["current_step"]) == ("completed", "nudge")

    # Bob opened the e-mail: his enrollment ended at `opened`, and no nudge came when it would have.
    dev_stack.wait_for("/v1/customers/bob/journeys", lambda b: b["journeys"][0]["status"] == "completed", 10)
    nudge_due = at(bob_reminder["sent_at"]) + timedelta(seconds=4)
    while datetime.now(nudge_due.tzinfo) < nudge_due:
        time.sleep(0.2)
    assert [m["step"] for m in messages(dev_stack, "bob")] == ["reminder"]
    assert enrollment(dev_stack, "bob")["current_step"] == "opened"


def test_ctrl_c_stops_everything_and_a_restart_keeps_all_state(tmp_path: Path, stacks: list[DevStack]) -> None:
    folder, data_dir = cart_folder(tmp_path, slow_welcome=SLOW_WELCOME), tmp_path / ".journey"
    first = DevStack(folder, data_dir)
    stacks.append(first)
    first.start()
    temporal_pid = int((data_dir / "temporal.pid").read_text())
    identify(first, "dee", "Dee")
    identify(first, "cy", "Cy")
    track(first, "dee", CART, message_id="dee-checkout")
    (dee_reminder,) = wait_for_steps(first, "dee", ["reminder"])
    # Cy signs up and is asleep in `nap` (6 s) when Ctrl-C comes; Dee waits in `opened` (3 s) for an open.
    (cy_enrollment,) = track(first, "cy", {"event": "signed_up", "properties": {}}, message_id="cy-signup")["enrolled"]

    assert first.stop() == 0, first.text
    stopped = datetime.now().astimezone()
    assert first.text.rstrip().endswith("stopped")
    assert process_gone(temporal_pid) and temporal_server_pid(data_dir) is None, "the Temporal server outlived journey dev"
    assert port_free(first.api_port) and port_free(first.temporal_port)

    second = DevStack(folder, data_dir, api_port=first.api_port, temporal_port=first.temporal_port)
    stacks.append(second)
    second.start()
    assert any(line.split()[:2] == ["unchanged", "quick_cart"] for line in second.text.splitlines())
    # The messages, the enrollments and the message ids seen survived; nothing was sent again.
    assert messages(second, "dee")[0] == dee_reminder
    assert track(second, "cy", {"event": "signed_up", "properties": {}}, message_id="cy-signup")["duplicate"] is True
    # Both sleepers wake up after the restart and finish; each message is sent once.
    (welcome,) = wait_for_steps(second, "cy", ["welcome"])
    assert welcome["subject"] == "Welcome, Cy"  # rendered from the profile kept on disk
    assert at(welcome["sent_at"]) > stopped, "Cy's welcome went out before the stack stopped: the test proved nothing"
    second.wait_for("/v1/customers/cy/journeys", lambda b: b["journeys"][0]["status"] == "completed", 10)
    cy = enrollment(second, "cy")
    assert (cy["enrollment_id"], cy["current_step"]) == (cy_enrollment, "welcome")
    reminder, nudge = wait_for_steps(second, "dee", ["reminder", "nudge"])
    assert reminder == dee_reminder and at(nudge["sent_at"]) - at(reminder["sent_at"]) >= timedelta(seconds=3)
    assert second.stop() == 0, second.text


def test_dev_refuses_an_invalid_journey_and_starts_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "journeys"
    folder.mkdir()
    (folder / "quick_cart.yaml").write_text(SHORT_CART)
    (folder / "broken.yaml").write_text(
        "id: broken\nname: Broken\ntrigger: {event: signed_up}\nsteps:\n  - id: hello\n    send: {channel: fax, body: hi}\n"
    )
    data_dir, api_port, temporal_port = tmp_path / ".journey", free_port(), free_port()
    command = [sys.executable, "-m", "orchestrator", "dev", str(folder), "--data-dir", str(data_dir), "--headless"]
    command += ["--port", str(api_port), "--temporal-port", str(temporal_port)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{folder / 'broken.yaml'}:6:21: error:" in done.stdout
    assert "unknown channel 'fax'" in done.stdout
    assert "nothing deployed" in done.stderr
    assert not data_dir.exists()  # no store, no Temporal database
    assert "API " not in done.stdout and port_free(api_port) and port_free(temporal_port)


def test_a_temporal_server_that_dies_is_restarted_and_the_journeys_go_on(tmp_path: Path, stacks: list[DevStack]) -> None:
    stack = DevStack(cart_folder(tmp_path), tmp_path / ".journey")
    stacks.append(stack)
    stack.start()
    identify(stack, "eve", "Eve")
    identify(stack, "fay", "Fay")
    track(stack, "eve", CART, message_id="eve-checkout")  # Eve waits in `wait_a_moment` when the server dies
    dead = temporal_server_pid(stack.data_dir)
    assert dead is not None
    os.kill(dead, signal.SIGKILL)

    deadline = time.monotonic() + 60
    while "is back on" not in stack.text and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.text.count("the Temporal dev server exited") == 1, stack.text
    assert "is back on" in stack.text, stack.text
    assert temporal_server_pid(stack.data_dir) not in (None, dead)
    # What was in flight goes on from the state on disk, and new events start new enrollments.
    wait_for_steps(stack, "eve", ["reminder"], timeout=60)
    track(stack, "fay", CART, message_id="fay-checkout")
    wait_for_steps(stack, "fay", ["reminder"], timeout=60)
    assert stack.stop() == 0, stack.text


def test_dev_deploys_a_saved_journey_and_keeps_the_running_version_when_one_has_errors(tmp_path: Path, stacks: list[DevStack]) -> None:
    folder = cart_folder(tmp_path)
    stack = DevStack(folder, tmp_path / ".journey")
    stacks.append(stack)
    stack.start()
    identify(stack, "gus", "Gus")
    identify(stack, "hal", "Hal")
    cart = folder / "quick_cart.yaml"

    cart.write_text(SHORT_CART.replace("you left", "you forgot"))
    deadline = time.monotonic() + 30
    while "journeys changed:" not in stack.text and time.monotonic() < deadline:
        time.sleep(0.2)
    changed = [line.split() for line in stack.text.splitlines() if line.strip().startswith("deployed   quick_cart")]
    assert len(changed) == 2, stack.text  # at start, and after the save
    track(stack, "gus", CART, message_id="gus-checkout")
    (reminder,) = wait_for_steps(stack, "gus", ["reminder"])
    assert reminder["subject"] == "Gus, you forgot 50 behind"
    assert enrollment(stack, "gus")["version"] == changed[1][2]

    cart.write_text(SHORT_CART.replace("next: end", "next: nowhere"))
    while "nothing was deployed" not in stack.text and time.monotonic() < deadline + 30:
        time.sleep(0.2)
    assert f"{cart}:" in stack.text and "nothing was deployed: fix the errors above (the running versions stay)" in stack.text, stack.text
    track(stack, "hal", CART, message_id="hal-checkout")
    assert wait_for_steps(stack, "hal", ["reminder"])[0]["subject"] == "Hal, you forgot 50 behind"
    assert stack.stop() == 0, stack.text
