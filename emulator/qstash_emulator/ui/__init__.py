"""The dashboard: server-rendered pages under `/__emulator__/ui` that show and steer what the
emulator holds, one tenant at a time, updated live by Server-Sent Events.

Pages read and act through `Service` methods only (the same calls, rules and errors as the
API); `nav.py` says how a new page plugs in.
"""

from .frame import PREFIX
from .routes import create_ui, mounted

__all__ = ["PREFIX", "create_ui", "mounted"]
