"""`--workers N`: N forked processes serving one listening socket, each a whole emulator.

Every worker serves HTTP and runs its own scheduler over the shared Redis store, whose claims
are atomic (a due message is taken by exactly one worker) and which holds the virtual clock and
the harness state, so the workers behave as one emulator. The parent only waits: it forwards
SIGINT/SIGTERM to the workers, stops the others when one exits early, and returns the first
non-zero exit status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from functools import partial
from types import FrameType


def serve_workers(count: int, listener: socket.socket, run: Callable[[bool], None]) -> int:
    """Fork `count` workers that each call `run(first)` (first: the one that announces)."""
    children = [_fork(partial(run, index == 0)) for index in range(count)]
    listener.close()  # the workers hold their own copies

    def forward(signum: int, frame: FrameType | None) -> None:
        _signal_all(children, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return _wait_all(children)


def _fork(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        work()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait_all(children: list[int]) -> int:
    status_code = 0
    running = set(children)
    while running:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        running.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and status_code == 0:
            status_code = code if code > 0 else 0
            _signal_all(list(running), signal.SIGTERM)
    return status_code


def _signal_all(children: list[int], signum: int) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
