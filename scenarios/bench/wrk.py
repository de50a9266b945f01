"""`wrk` as the load generator: closed loops and paced (constant-rate) runs of POSTs.

wrk (C, one event loop per thread) sends far more requests per second than any server here
answers, so the figures are the server's; every run also reports the CPU wrk itself used, so
that headroom is shown, not assumed. Each request body is `{"s": <send time>, "d": <delay s>}`
stamped by wrk's LuaJIT at the moment of sending: the sink (`scenarios.bench.servers`) turns it
into publish-to-delivery latency and delay lateness.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_usec; }} bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local path, token = "{path}", "{token}"
local delay_min, delay_max, interval, total = {delay_min}, {delay_max}, {interval}, {total}
local plain = {{["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}}
local next_at = nil

local started = nil

request = function()
  if started == nil then started = now() end
  local d = 0
  local headers = plain
  if delay_max > 0 then
    d = math.random(delay_min, delay_max)
    headers = {{["Authorization"] = plain["Authorization"],
               ["Content-Type"] = "application/json", ["Upstash-Delay"] = d .. "s"}}
  end
  return wrk.format("POST", path, headers, string.format('{{"s":%.6f,"d":%d}}', now(), d))
end

if interval > 0 then
  -- one schedule for every connection of the thread: each answer books the next free slot
  delay = function()
    local t = now()
    if next_at == nil or next_at < t then next_at = t end
    next_at = next_at + interval
    return math.max(0, (next_at - interval - t) * 1000)
  end
end

if total > 0 then
  -- a burst of `total` answers: the thread stops and says so at once (wrk's main thread sleeps
  -- out the run's duration, a mere bound here, unless interrupted)
  local answered, failed, first_failure = 0, 0, '""'
  response = function(status, headers, body)
    answered = answered + 1
    if status > 299 then
      failed = failed + 1
      if failed == 1 then first_failure = string.format("%q", status .. " " .. body) end
    end
    if answered == total then
      io.write(string.format(
        'BURST {{"requests":%d,"seconds":%.6f,"errors":%d,"first_error":%s}}\\n',
        answered, now() - started, failed, first_failure))
      io.flush()
      wrk.thread:stop()
    end
  end
end

done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRK {{"requests":%d,"duration_us":%d,"errors":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, bad, latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    errors: int
    answer_p99_ms: float
    generator_cpu: float  # wrk's CPU time over the run's wall time (1.0 = one full core)
    started_at: float  # wall clock when wrk was started
    first_error: str = ""  # a burst's first failed answer: status and body

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing and this process may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env,
                       capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return found


def run_wrk(base: str, path: str, token: str, seconds: float, connections: int = 64,
            rate: float = 0.0, delays: tuple[int, int] = (0, 0), total: int = 0) -> WrkRun:
    """POST to `base + path` for `seconds`: back to back (`rate` 0) or paced at `rate`/s; with
    `total`, stop once that many answers arrived (a burst; `seconds` only bounds it)."""
    script = SCRIPT.format(path=path, token=token, delay_min=delays[0], delay_max=delays[1],
                           interval=1.0 / rate if rate else 0, total=total)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as work:
        lua = Path(work) / "publish.lua"
        lua.write_text(script)
        duration = f"-d{max(1, round(seconds))}s"  # wrk takes whole seconds
        command = [ensure_wrk(), "-t1", f"-c{connections}", duration, "--timeout", "10s",
                   "-s", str(lua), base + path]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_at, wall = time.time(), time.perf_counter()
        out, err, burst = _wrk(command, total > 0)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out[-400:]} {err[-400:]}")
    data = json.loads(line[4:])
    if burst is not None:
        return WrkRun(burst["requests"], burst["seconds"], burst["errors"],
                      data["p99_us"] / 1000, cpu / wall, started_at, burst["first_error"])
    return WrkRun(data["requests"], data["duration_us"] / 1e6, data["errors"],
                  data["p99_us"] / 1000, cpu / wall, started_at)


def _wrk(command: list[str], burst: bool) -> tuple[str, str, dict[str, Any] | None]:
    """wrk's output, and with `burst` the figures its script printed when the burst ended (wrk
    is then interrupted, as Ctrl-C would, to print its summary without sleeping out -d)."""
    if not burst:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return done.stdout, done.stderr, None
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdout is not None
        figures = None
        for line in process.stdout:
            if line.startswith("BURST "):
                figures = json.loads(line[6:])
                process.send_signal(signal.SIGINT)
                break
        out, err = process.communicate()
    if figures is None:
        raise RuntimeError(f"the wrk burst did not finish: {out[-400:]} {err[-400:]}")
    return out, err, figures
