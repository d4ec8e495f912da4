"""The runtime: one Temporal workflow per enrollment executes a compiled journey (the IR).

`workflow.py` holds the interpreter; `contracts.py` the dataclasses that cross
the workflow/activity and client/workflow boundaries; `search_attributes.py`
what makes enrollments findable (without personal data); `clock.py` and
`split.py` are pure functions the interpreter and activities share. Side
effects live in `activities/`.
"""
