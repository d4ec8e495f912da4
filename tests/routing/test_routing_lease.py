"""LocalCustomerLocks: one holder per customer in a process, a clear refusal after the wait, no lock kept for idle customers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from orchestrator.routing.lease import CustomerBusy, LocalCustomerLocks


def test_a_customer_held_elsewhere_is_refused_after_the_wait_and_others_are_not_held_up() -> None:
    locks = LocalCustomerLocks()
    holding, done = threading.Event(), threading.Event()

    def hold_c1() -> None:
        with locks.hold(["c1"]):
            holding.set()
            done.wait(10)

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(hold_c1)
        assert holding.wait(10)
        with pytest.raises(CustomerBusy), locks.hold(["c1", "a0"], wait=timedelta(milliseconds=50)):
            pass
        with locks.hold(["c2"], wait=timedelta(milliseconds=50)):
            pass  # another customer: free at once
        done.set()
        holder.result(10)
        with locks.hold(["a0"], wait=timedelta(milliseconds=50)):
            pass  # a0, taken first (sorted order), was given back when c1 was refused
    assert len(locks) == 0


def test_calls_for_one_customer_run_one_at_a_time_and_leave_no_lock_behind() -> None:
    locks = LocalCustomerLocks()
    inside, most = 0, 0
    counter = threading.Lock()

    def one_call(n: int) -> None:
        nonlocal inside, most
        with locks.hold(["c1", f"other-{n}"]):
            with counter:
                inside += 1
                most = max(most, inside)
            threading.Event().wait(0.002)
            with counter:
                inside -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one_call, range(64)))
    assert most == 1
    assert len(locks) == 0  # a process routing millions of customers keeps no lock per customer
