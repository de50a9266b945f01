"""Benchmarks and the Redis crash test, run from the repository root; each prints figures.

    python -m scenarios.bench.throughput      # wrk-driven: throughput, latency vs ceilings
    python -m scenarios.bench.memory          # RSS of N pending messages in the memory store
    python -m scenarios.bench.emulator        # the older Python-driven run; DLQ fast-forward
    python -m scenarios.bench.stores          # memory store vs Redis store
    python -m scenarios.bench.crash_redis     # kill -9 mid-burst on Redis, count deliveries
    python -m scenarios.bench.delivery        # dispatcher cost, memory of waiting messages
    python -m scenarios.bench.gates           # the due path: ungated vs queue vs flow-control key
    python -m scenarios.bench.schedules       # cron triggers per second on the virtual clock
    python -m scenarios.bench.request_queue   # qstash_queue enqueues/s and memory deliveries/s
    python -m scenarios.bench.plugin_import   # what the pytest plugin adds to pytest's start-up
    python -m scenarios.bench.startup         # from the command to the emulator's first health

`processes` starts the emulators, destinations and Redis they use; `servers` holds the
ceilings and the measuring sink; `wrk` and `throughput_report` serve `throughput`; `load` and
`figures` serve `emulator`.
"""
