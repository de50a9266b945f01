"""Where a delivery really goes: destination rewriting in front of a Dispatcher.

A message published to `https://myapp.example.com/api/jobs` can be delivered to
`http://127.0.0.1:3000/api/jobs` (`--rewrite FROM=TO`, prefix match, first rule wins), and
in a container `localhost`/`127.0.0.1` destinations can reach the host (`--localhost-alias`).
Only the address changes: the message, its logs and its signature keep the published URL (the
signature's `sub` is what QStash signs), and the request carries `X-Forwarded-Host` and
`X-Forwarded-Proto` of the published URL, as the app's own proxy would add them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from ..core.model import DeliveryRequest, Response
from ..core.ports import Dispatcher

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Send a destination starting with `source` to `target` + the rest of it."""

    source: str
    target: str

    @classmethod
    def parse(cls, rule: str) -> Rewrite:
        source, _, target = rule.partition("=")
        return cls(source, target)

    def apply(self, url: str) -> str | None:
        if not url.startswith(self.source):
            return None
        return self.target + url[len(self.source):]


class DestinationRewriter:
    """A Dispatcher that delivers to the rewritten address of each request's URL."""

    def __init__(
        self, inner: Dispatcher, rewrites: Sequence[Rewrite] = (),
        localhost_alias: str | None = None,
    ) -> None:
        self.inner = inner
        self._rewrites = tuple(rewrites)
        self._alias = localhost_alias

    @classmethod
    def wrap(cls, inner: Dispatcher, rules: Sequence[str], localhost_alias: str | None
             ) -> Dispatcher:
        """`inner` itself when there is nothing to rewrite."""
        if not rules and not localhost_alias:
            return inner
        return cls(inner, [Rewrite.parse(rule) for rule in rules], localhost_alias)

    def address(self, url: str) -> str:
        """Where a delivery to `url` goes."""
        target = next((found for rule in self._rewrites
                       if (found := rule.apply(url)) is not None), url)
        return self._aliased(target) if self._alias else target

    def _aliased(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK_HOSTS:
            return url
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{self._alias}{port}"))

    async def dispatch(self, request: DeliveryRequest) -> Response:
        target = self.address(request.url)
        if target == request.url:
            return await self.inner.dispatch(request)
        published = urlsplit(request.url)
        headers = {"X-Forwarded-Host": published.netloc, "X-Forwarded-Proto": published.scheme,
                   **request.headers}
        return await self.inner.dispatch(replace(request, url=target, headers=headers))

    async def aclose(self) -> None:
        await self.inner.aclose()
