"""Journey analytics: what a journey's report counts, what the counts mean, and how it reads.

`counts.py`: the counts the store folds the journey facts into (the interface with the store), and the
conversion window. `statistics.py`: the formulas (Wilson and Newcombe intervals, the relative lift and
its Katz interval, the pooled z-test, Holm's adjustment, the Beta-Binomial chance to beat control, a
mean's t interval, the NPS interval). `ab_test.py`: one split judged and its verdict. `answers.py`: what
counts as an answer to a metric (its scale) and its bucket (promoter, satisfied...). `report.py` (with
`splits.py`, `metrics.py`, `revenue.py`): counts and the compiled journey turned into the report and its
JSON document. `report_text.py`, `report_markdown.py` (numbers written by `report_format.py`): the
views `journey stats` prints. docs/analytics.md states what is computed.

Pure: it imports only `ir` (a report follows the journey's steps and splits); the queries that count
live in the store and call it with numbers.
"""
