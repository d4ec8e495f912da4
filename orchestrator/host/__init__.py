"""The processes that run journeys, and how they find Temporal.

`worker` (`journey worker`), `devstack` (`journey dev`: dev server, worker and
API in one process tree), `devserver` (the embedded Temporal dev server),
`binaries` (where the packaged Temporal binaries are), `temporal_connection`
(address, namespace, TLS), `deployment` (`journey deploy`) and `schedules`
(the Temporal Schedules of broadcast journeys).
"""
