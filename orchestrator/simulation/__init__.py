"""`journey simulate` and `journey test`: the real interpreter on Temporal's time-skipping server.

`simulator` runs one customer through a journey in simulated time;
`journey_tests` runs the test-case files of journeys/tests/ through it and
compares what happened with what they expect.
"""
