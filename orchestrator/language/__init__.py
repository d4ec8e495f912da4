"""The journey language's shared vocabulary: what the compiler checks and the runtime evaluates the same way.

`templating` is the one Jinja2 sandbox for expressions and message templates,
with `missing_values` (a missing value in an expression is `none`),
`literal_limits` (literal bombs refused at validate) and `run_limits` (what an
evaluation may cost on its data: `sizes` works out what an operation would
build, `metering` wires both into Jinja); `scope` builds what they
read (`customer`, `event`, `journey`) and says when a condition holds;
`measured_values` the number a goal's or a metric's value gives, or none;
`timeparse` parses durations, times of day and zones; `clock` turns them into
instants in a customer's zone; `traits` validates the reserved profile traits
(email, phone, zone...) for identify and `update` alike. Pure code: no I/O, no
store, no Temporal.
"""
