"""Scenario files (TOML data, run by `qstash-emulator scenario run`) and, in `bench`, the
benchmarks."""
