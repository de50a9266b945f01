"""Where the dashboard is served (a module of its own: naming it loads nothing else)."""

PREFIX = "/__emulator__/ui"
