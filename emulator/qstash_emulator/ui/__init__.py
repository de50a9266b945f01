"""The dashboard: server-rendered pages under `/__emulator__/ui` that show and steer what the
emulator holds, one tenant at a time, updated live by Server-Sent Events.

Pages read and act through `Service` methods only (the same calls, rules and errors as the
API); `nav.py` says how a new page plugs in.
"""

from typing import TYPE_CHECKING, Any

from .paths import PREFIX

if TYPE_CHECKING:
    from .routes import create_ui, mounted

__all__ = ["PREFIX", "create_ui", "mounted"]


def __getattr__(name: str) -> Any:
    """`create_ui` and `mounted` on first use: the templates and SSE load with the dashboard."""
    if name in ("create_ui", "mounted"):
        from . import routes

        return getattr(routes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
