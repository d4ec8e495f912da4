"""The processes that run journeys, and how they find Temporal.

`worker` (`journey worker`), `devstack` (`journey dev`: dev server, worker and
API in one process tree; and the `journey worker`, `api` and `deploy` processes),
`devserver` (the embedded Temporal dev server), `binaries` (where the packaged
Temporal binaries are), `temporal_connection` (address, namespace, TLS),
`deployment` (`journey deploy`), `schedules` (the Temporal Schedules of broadcast
journeys), `local_keys` (the payload key and hash secret `journey dev` keeps),
`variables` (the table of every environment variable) and `settings` (the one
place that reads them, once, when a process starts).
"""
