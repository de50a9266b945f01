"""Redis that stops answering must not stop the emulator: a watchdog and a circuit breaker.

The store's protocol is synchronous and runs on the event loop, so a command to a Redis that
hangs (paused, overloaded, a dead network path) would hold every request of the process. Here:

- a watchdog thread asks Redis for its `TIME` every few milliseconds on a connection of its own
  (which also gives the offset between Redis's clock and ours);
- when Redis has not answered for `timeout_s` (longer on a machine where its answers have been
  slow lately: three times the slowest of the last few seconds, at most `MAX_TIMEOUT_S`), the
  watchdog marks it down and shuts the sockets
  of commands that have waited longer than that, so the blocked command fails at once;
- while Redis is down every command fails at once (`RedisUnavailable`, answered 503) without
  touching a socket, until the watchdog's next answer;
- scripts whose effect the sender must know (claiming due messages, a dedup id) carry a deadline
  `timeout_s` after they were sent (`deadline_us`), past which Redis applies none of them: the
  socket of a command is cut only after that, so a script Redis reads after a pause changes
  nothing. A commit of held-back writes gets `commit_timeout_s` and is settled afterwards
  (see `writes.WriteBehind`): applied, or declined for good.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections import deque
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ...clocks import unix_now, wall_now
from ...core import protocol as p
from ...core.errors import StoreUnavailable

DEFAULT_TIMEOUT_S = 0.075
COMMIT_TIMEOUT_S = 1.5
MAX_TIMEOUT_S = 1.0
SLOW_WINDOW_S = 5.0
"""How far back slow answers of Redis lengthen the timeout."""
BACKSTOP_TIMEOUT_S = 2.0
"""Socket timeout of every store command, should the watchdog itself be held up."""
NETWORK_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisUnavailable(StoreUnavailable, redis.ConnectionError):
    """Redis did not answer in time, or is known to be down. `sent`: the command may have
    reached Redis (its socket failed after sending began)."""

    def __init__(self, reason: str, *, sent: bool = False) -> None:
        StoreUnavailable.__init__(self, f"{p.STORE_UNAVAILABLE} ({reason})")
        self.reason = reason
        self.sent = sent


class Availability:
    """Whether Redis answers, as the watchdog last saw it, and how far its clock is from ours."""

    def __init__(
        self, timeout_s: float = DEFAULT_TIMEOUT_S, commit_timeout_s: float = COMMIT_TIMEOUT_S
    ) -> None:
        self.configured_s = timeout_s
        self.timeout_s = timeout_s
        """The timeout in force: `configured_s`, or longer after slow answers."""
        self.commit_timeout_s = commit_timeout_s
        self.offset_s = 0.0
        self.up = True
        self.reason = ""
        self.outages = 0

    def check(self) -> None:
        if not self.up:
            raise RedisUnavailable(self.reason or "Redis is not answering")

    def failed(self, exc: BaseException, *, sent: bool) -> RedisUnavailable:
        """A command failed for lack of an answer: Redis counts as down until it answers."""
        if isinstance(exc, RedisUnavailable):
            exc.sent = exc.sent or sent
            return exc
        self.down(f"{type(exc).__name__}: {exc}")
        return RedisUnavailable(self.reason, sent=sent)

    def down(self, reason: str) -> None:
        if self.up:
            self.outages += 1
        self.up = False
        self.reason = reason

    def deadline_us(self, seconds: float | None = None) -> int:
        """Redis's time (microseconds) `seconds` (default `timeout_s`) from now."""
        wait_s = self.timeout_s if seconds is None else seconds
        return int((unix_now() + self.offset_s + wait_s) * 1_000_000)


class GuardedConnection:
    """Mixed into redis-py's connection class: fails at once while Redis is down, and turns
    network errors into `RedisUnavailable` (which marks it down)."""

    availability: Availability
    waiting_since: float | None = None

    def connect(self) -> None:
        self.availability.check()
        try:
            super().connect()  # type: ignore[misc]
        except NETWORK_ERRORS as exc:
            raise self.availability.failed(exc, sent=False) from exc

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        try:
            super().send_packed_command(command, check_health)  # type: ignore[misc]
        except NETWORK_ERRORS as exc:
            raise self.availability.failed(exc, sent=True) from exc

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting_since = wall_now()
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except NETWORK_ERRORS as exc:
            raise self.availability.failed(exc, sent=True) from exc
        finally:
            self.waiting_since = None

    def cut(self) -> None:
        """Shut the socket down from another thread: a blocked read returns at once. Not when
        the answer has arrived meanwhile (the reader is only late to take it)."""
        sock: socket.socket | None = getattr(self, "_sock", None)
        if sock is not None and not _readable(sock):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _readable(sock: socket.socket) -> bool:
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False


class GuardedPool(redis.ConnectionPool):
    """Hands out no connection while Redis is down."""

    availability: Availability

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        self.availability.check()
        return super().get_connection(*args, **kwargs)

    def waiting_connections(self) -> list[GuardedConnection]:
        in_use: set[Any] = self._get_in_use_connections()  # type: ignore[no-untyped-call]
        return [c for c in in_use if isinstance(c, GuardedConnection)]


def guarded_client(url: str, availability: Availability) -> redis.Redis:
    """A client for `url` whose commands never wait on a Redis that does not answer."""
    base: type = redis.ConnectionPool.from_url(url).connection_class
    connection_class = type(
        "Guarded" + base.__name__, (GuardedConnection, base), {"availability": availability}
    )
    pool = GuardedPool.from_url(
        url,
        connection_class=connection_class,
        socket_timeout=BACKSTOP_TIMEOUT_S,
        socket_connect_timeout=BACKSTOP_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    pool.availability = availability
    return redis.Redis(connection_pool=pool)


CUT_CHECK_S = 0.005


class Watchdog:
    """Asks Redis for its time from a daemon thread, one question at a time. While a question
    goes unanswered a second thread looks every few milliseconds: once it has waited
    `timeout_s`, Redis is marked down and the sockets of commands that have waited that long
    are cut. The answer marks it up again (and tells how slow Redis is lately)."""

    def __init__(self, url: str, availability: Availability, pool: GuardedPool) -> None:
        self.availability = availability
        self._pool = pool
        self._interval_s = availability.configured_s / 3
        self._probe = redis.Redis.from_url(
            url,
            socket_timeout=2 * MAX_TIMEOUT_S,
            socket_connect_timeout=2 * MAX_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            single_connection_client=True,
        )
        self._asked_at: float | None = None
        self._round_trips: deque[tuple[float, float]] = deque()
        self._silence = threading.Event()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name="qstash-redis-watchdog", daemon=True),
            threading.Thread(target=self._cutter, name="qstash-redis-cutter", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._silence.set()
        for thread in self._threads:
            thread.join(2)
        self._probe.close()

    def _cutter(self) -> None:
        while self._silence.wait() and not self._stopped.is_set():
            asked_at, now = self._asked_at, wall_now()
            if asked_at is not None and now - asked_at >= self.availability.timeout_s:
                self.availability.down(f"Redis has not answered for {now - asked_at:.2f}s")
                self._cut_overdue(now)
            self._stopped.wait(CUT_CHECK_S)

    def _run(self) -> None:
        while not self._stopped.is_set():
            answered = self.probe()
            self._stopped.wait(self._interval_s if answered else CUT_CHECK_S * 2)

    def probe(self) -> bool:
        """One question to Redis; True when it answered."""
        was_up = self.availability.up
        self._asked_at = wall_now()
        self._silence.set()
        try:
            before = unix_now()
            seconds, micros = self._probe.time()
            after = unix_now()
        except redis.TimeoutError:
            return False  # the cutter has marked it down meanwhile
        except Exception as exc:
            self.availability.down(f"{type(exc).__name__}: {exc}")
            return False
        finally:
            self._silence.clear()
            self._asked_at = None
        if was_up and self.availability.up:  # a pause would lengthen the timeout for nothing
            self._lengthen(after - before)
        self.availability.offset_s = seconds + micros / 1_000_000 - (before + after) / 2
        self.availability.up = True
        return True

    def _lengthen(self, round_trip_s: float) -> None:
        """The timeout after this answer: three times the slowest recent one, within bounds."""
        now = wall_now()
        trips = self._round_trips
        trips.append((now, round_trip_s))
        while trips[0][0] < now - SLOW_WINDOW_S:
            trips.popleft()
        slowest = max(trip for _, trip in trips)
        availability = self.availability
        availability.timeout_s = min(MAX_TIMEOUT_S, max(availability.configured_s, 3 * slowest))

    def _cut_overdue(self, now: float) -> None:
        for connection in self._pool.waiting_connections():
            since = connection.waiting_since
            if since is not None and now - since >= self.availability.timeout_s:
                connection.cut()
