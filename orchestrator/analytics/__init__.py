"""Journey analytics. So far the statistics of A/B tests and holdouts, pure functions of counts.

`statistics.py`: the formulas (Wilson and Newcombe intervals, the relative lift and its Katz
interval, the pooled z-test, Holm's adjustment, the Beta-Binomial chance to beat control).
`ab_test.py`: one split judged, every arm against its control, and the verdict in words with the
minimum sample rule. `answers.py`: what counts as an answer to a metric (its scale) and its bucket
(promoter, satisfied...). docs/analytics.md states what is computed.

This package imports only the compiled journey (docs/architecture.md, the map): the queries that count
enrollments and conversions live in the store and call it with numbers.
"""
