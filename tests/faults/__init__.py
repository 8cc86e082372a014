"""Fault injection against real processes (issue 9): a real mosquitto, the real
`safehome run` supervised like systemd, an alarm centre that acknowledges every copy, and
an invariant checker over everything the centre received plus the database.

Files: home.py (the seeded home script and config), centre.py (the acking centre),
daemon.py (supervision: watchdog pings, restarts, logs), storage.py (full tmpfs,
immutable files), clock.py (libfaketime wall-clock steps), corpus.py (hostile payloads),
invariants.py (the checker), runner.py (the seeded schedule of outages and SIGKILLs),
unreachable.py (hook delay with no broker). The bounded tests here run in CI;
benchmarks/soak.py runs the long version with the same code.

Every test prints its seed; `SAFEHOME_FAULT_SEED=N scripts/test.sh tests/faults/...`
replays the same schedule, script and durations.
"""
