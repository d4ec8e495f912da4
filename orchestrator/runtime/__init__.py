"""The runtime: the workflows that execute compiled journeys (the IR) on Temporal.

`interpreter.py` holds the interpreter's core, every decision of an enrollment as a
coroutine of commands (`commands.py`) with no I/O, with `requests.py` (its activities'
requests), `enrollment_state.py` (what an enrollment remembers across continue-as-new)
and `progress.py` (the journey facts it notes); `workflow.py` runs it on Temporal, one
workflow per enrollment, with `activity_calls.py` (timeouts and retries) and
`bookkeeping.py` (CurrentStep and the end in the index), and
orchestrator/simulation/offline.py runs the same core without Temporal; `broadcast.py` the workflow that enrolls a scheduled
journey's audience page by page, each page into one cohort: `cohort.py` runs a page's enrollments in lockstep over the core,
batching their calls, and `cohort_workflow.py` runs it on Temporal;
`contracts.py` the dataclasses that cross the workflow/activity and
client/workflow boundaries (`cohort_contracts.py` a cohort's); `payload_types.py` Temporal's data converter with each
dataclass's field types resolved once; `search_attributes.py` and `ids.py` what makes
enrollments findable (without personal data); `split.py` the pure arm choice the
interpreter and activities share; `migration.py` the one rule of which waiting enrollments
may move onto a newer version and where (the interpreter, `journey plan` and `journey deploy
--migrate` share it); `end_reasons.py` why an enrollment ended, in the words the interpreter
stores and the API and simulation show. Workflow code imports nothing with side effects: no
store, no routing, no SQLAlchemy. Side effects live in `activities/`.
"""
