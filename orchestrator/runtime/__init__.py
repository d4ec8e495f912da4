"""The runtime: the workflows that execute compiled journeys (the IR) on Temporal.

`workflow.py` holds the interpreter, one workflow per enrollment, with
`activity_calls.py` (its activities' requests), `enrollment_state.py` (what an
enrollment remembers across continue-as-new) and `bookkeeping.py` (CurrentStep
and the end in the index); `broadcast.py` the workflow that enrolls a scheduled
journey's audience page by page;
`contracts.py` the dataclasses that cross the workflow/activity and
client/workflow boundaries; `search_attributes.py` and `ids.py` what makes
enrollments findable (without personal data); `split.py` the pure arm choice the
interpreter and activities share; `end_reasons.py` why an enrollment ended, in
the words the interpreter stores and the API and simulation show. Workflow code imports nothing with side
effects: no store, no routing, no SQLAlchemy. Side effects live in `activities/`.
"""
