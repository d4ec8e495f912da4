"""End to end on the time-skipping server: a failing template fails one send and the journey goes on; variants reach the customer."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.store import Store
from orchestrator.store.values import DeliveryKey
from tests.runtime.support import START, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CART = """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    steps:
      - id: broken
        send: {channel: email, subject: "Your {{ event.missing_property }}", body: "<p>never sent</p>"}
      - id: reminder
        send:
          channel: email
          subject: "{{ event.total | currency('EUR') }}"
          template: templates/cart_reminder.html
    """


async def test_a_render_error_fails_that_send_and_a_variant_in_the_customers_locale_is_sent(
    env: WorkflowEnvironment, store: Store, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "cart_reminder.html").write_text("<p>Hi {{ customer.first_name }}, {{ event.note }}</p>")
    (templates / "cart_reminder.fr.html").write_text("<p>Bonjour {{ customer.first_name }}, {{ event.note }}</p>")
    flow = journey(CART, directory=tmp_path)
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com", "first_name": "Ann", "email_opt_in": True, "locale": "fr-CA"})
        handle = await h.enroll(flow, "c-1", trigger={"total": 1234.5, "note": "{{ customer.email }}"})
        assert (await handle.result()).status == "completed"
        (message,) = h.messages("c-1")
    assert message.step_id == "reminder"
    assert message.subject == "1\xa0234,50\xa0€"  # fr_CA groups with a no-break space (fr_FR: a narrow one)
    assert message.body.startswith("<p>Bonjour Ann, {{ customer.email }}</p>")  # event data printed, not rendered
    assert "/v1/unsubscribe/" in message.body  # marketing email without a link got the footer
    with store.session() as session:
        broken = session.claim_delivery(DeliveryKey(handle.id, "broken", 1), "email", START)[0]
    assert broken.status == "failed"
    assert broken.reason == "template error in subject: 'dict object' has no attribute 'missing_property'"
