"""An instance's lease in Redis: while it is renewed, the instance's claims on due work hold."""

from __future__ import annotations

import threading
import uuid
from typing import Any


class Lease:
    """Keeps `<prefix>:lease:<instance>` alive from a daemon thread until `stop()`.

    When the process dies (even by SIGKILL) the key expires after `lease_ms`, and the next
    `pop_due` of any other instance gives the dead instance's claims back to the due index.
    """

    def __init__(self, client: Any, prefix: str, lease_ms: int) -> None:
        self.instance = uuid.uuid4().hex
        self.key = f"{prefix}:lease:{self.instance}"
        self._instances = f"{prefix}:instances"
        self._client = client
        self._lease_ms = lease_ms
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.renew()
        self._thread = threading.Thread(target=self._run, name="qstash-lease", daemon=True)
        self._thread.start()

    def renew(self) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self.key, b"1", px=self._lease_ms)
        pipe.sadd(self._instances, self.instance)
        pipe.execute()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        interval_s = self._lease_ms / 4000
        while not self._stopped.wait(interval_s):
            try:
                self.renew()
            except Exception:  # Redis briefly unreachable: try again next round
                continue
