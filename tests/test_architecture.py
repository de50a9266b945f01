"""The architecture conventions, enforced by scanning the source with `ast`.

Every rule is a small checker over source text (or a module object), run once over the real
tree and once over a synthetic violation, so that a checker that can never fail is caught too.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = {
    "qstash_emulator": REPO / "emulator",
    "qstash_queue": REPO / "client",
    "pytest_qstash": REPO / "pytest_plugin",
}
CORE = "qstash_emulator.core"
IO_LIBRARIES = frozenset({"starlette", "httpx", "aiohttp", "uvicorn", "redis", "httptools"})
OUTER_PACKAGES = frozenset({"qstash_queue", "pytest_qstash"})
STARLETTE_ALLOWED = ("qstash_emulator.http", "qstash_emulator.app", "qstash_emulator.ui")
CLOCK_MODULE = "qstash_emulator.clocks"
WALL_CLOCK_CALLS = frozenset({
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
    "time.perf_counter", "time.perf_counter_ns", "time.sleep",
    "datetime.now", "datetime.utcnow", "datetime.today",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today",
})
ASYNC_SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep"})


@dataclass(frozen=True)
class Source:
    """One module's text and dotted name."""

    module: str
    text: str
    is_package: bool = False
    path: str = "<string>"

    @property
    def package(self) -> str:
        return self.module if self.is_package else self.module.rpartition(".")[0]


def iter_sources(package: str) -> Iterator[Source]:
    root = PACKAGE_ROOTS[package]
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        yield Source(module, path.read_text(encoding="utf-8"), is_package,
                     str(path.relative_to(REPO)))


# --- imports --------------------------------------------------------------------------------


def _resolve(source: Source, level: int, name: str | None) -> str:
    base = source.package
    if level > 1:
        base = base.rsplit(".", level - 1)[0] if base.count(".") >= level - 1 else ""
    return ".".join(part for part in (base, name) if part)


def _dynamic_import(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_of(source: Source) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import, relative ones resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source.text)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(source, node.level, node.module)
            names = [f"{base}.{a.name}" for a in node.names] if node.module is None else [base]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            found.append((node.lineno, name))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def core_violations(source: Source) -> list[str]:
    """`core` is pure: no I/O library and nothing from qstash_emulator outside core."""
    problems = []
    for line, name in imports_of(source):
        top = _top(name)
        outward = top == "qstash_emulator" and not _inside(name, CORE)
        if top in IO_LIBRARIES or top in OUTER_PACKAGES or outward:
            problems.append(f"{source.path}:{line}: core imports {name}")
    return problems


def client_violations(source: Source) -> list[str]:
    """The client library is product code: it never imports the emulator."""
    return [f"{source.path}:{line}: qstash_queue imports {name}"
            for line, name in imports_of(source) if _top(name) == "qstash_emulator"]


def starlette_violations(source: Source) -> list[str]:
    """Only `http/`, `ui/` and `app.py` import starlette."""
    if any(_inside(source.module, allowed) for allowed in STARLETTE_ALLOWED):
        return []
    return [f"{source.path}:{line}: {source.module} imports {name}"
            for line, name in imports_of(source) if _top(name) == "starlette"]


# --- wall clock -----------------------------------------------------------------------------


def _aliases(tree: ast.AST) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[_top(alias.name)] = _top(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value, aliases)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _is_zero_sleep(call: ast.Call) -> bool:
    delays = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "delay")]
    if not delays:
        return False
    delay = delays[0]
    return isinstance(delay, ast.Constant) and type(delay.value) in (int, float) \
        and delay.value == 0


def wall_clock_violations(source: Source) -> list[str]:
    """Only clocks.py reads or waits on the wall clock (`asyncio.sleep(0)` is a yield, fine)."""
    if source.module == CLOCK_MODULE:
        return []
    tree = ast.parse(source.text)
    aliases = _aliases(tree)
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        sleeping = name in ASYNC_SLEEPS and not _is_zero_sleep(node)
        if name in WALL_CLOCK_CALLS or sleeping:
            problems.append(f"{source.path}:{node.lineno}: {name}() outside clocks.py")
    return problems


# --- __all__ --------------------------------------------------------------------------------


def _natural(name: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def isort_style_key(name: str) -> tuple[int, list[str | int]]:
    """Ruff's RUF022 order: CONSTANTS, then CamelCase, then the rest; natural sort within."""
    if len(name) > 1 and name.isupper():
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, _natural(name)


def dunder_all_problems(module: types.ModuleType) -> list[str]:
    """`__all__` is sorted (as ruff sorts it), has no duplicates, and every name resolves."""
    names = list(getattr(module, "__all__", ()))
    problems = []
    if names != sorted(names, key=isort_style_key):
        problems.append(f"{module.__name__}.__all__ is not sorted: {names}")
    if len(set(names)) != len(names):
        problems.append(f"{module.__name__}.__all__ has duplicates: {names}")
    for name in names:
        try:
            getattr(module, name)
        except AttributeError:
            problems.append(f"{module.__name__}.__all__ names missing {name!r}")
    return problems


def _defines_all(source: Source) -> bool:
    for node in ast.parse(source.text).body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


# --- the real tree --------------------------------------------------------------------------


def _all_problems(package: str, checker: Callable[[Source], list[str]]) -> list[str]:
    return [problem for source in iter_sources(package) for problem in checker(source)]


def test_the_scan_sees_the_packages() -> None:
    modules = {s.module for package in PACKAGE_ROOTS for s in iter_sources(package)}
    assert {CORE, "qstash_emulator.core.service", "qstash_emulator.app", CLOCK_MODULE,
            "qstash_queue", "pytest_qstash"} <= modules


def test_core_imports_no_io_library_and_nothing_outward() -> None:
    core = [s for s in iter_sources("qstash_emulator") if _inside(s.module, CORE)]
    assert core
    assert [p for s in core for p in core_violations(s)] == []


def test_client_never_imports_the_emulator() -> None:
    assert _all_problems("qstash_queue", client_violations) == []


def test_only_clocks_reads_the_wall_clock() -> None:
    assert _all_problems("qstash_emulator", wall_clock_violations) == []


def test_only_http_and_app_import_starlette() -> None:
    assert _all_problems("qstash_emulator", starlette_violations) == []


@pytest.mark.parametrize("package", sorted(PACKAGE_ROOTS))
def test_dunder_all_is_sorted_and_resolvable(package: str) -> None:
    with_all = [s for s in iter_sources(package) if s.is_package and _defines_all(s)]
    problems = [p for s in with_all for p in dunder_all_problems(importlib.import_module(s.module))]
    assert problems == []


# --- each checker can fail ------------------------------------------------------------------


def _core(text: str, module: str = "qstash_emulator.core.service") -> Source:
    return Source(module, text)


@pytest.mark.parametrize("text", [
    "import httpx",
    "import redis.asyncio as r",
    "from starlette.responses import Response",
    "def f():\n    import uvicorn",
    "import importlib\nimportlib.import_module('aiohttp')",
    "from ..http import errors",
    "from .. import emulator",
    "from ...qstash_emulator import app",
    "from qstash_emulator.storage.memory import MemoryStore",
    "import qstash_emulator",
    "from pytest_qstash import server",
])
def test_core_checker_reports(text: str) -> None:
    assert core_violations(_core(text))


@pytest.mark.parametrize("text", [
    "import json\nfrom urllib.parse import urlsplit",
    "from .model import Message",
    "from . import protocol",
    "from ..core import model",
    "from qstash_emulator.core.model import Message",
])
def test_core_checker_allows_pure_imports(text: str) -> None:
    assert core_violations(_core(text)) == []


def test_core_checker_resolves_relative_imports_from_a_package_init() -> None:
    init = Source(CORE, "from .. import clocks\nfrom . import model", is_package=True)
    assert [name for _, name in imports_of(init)] == ["qstash_emulator.clocks", f"{CORE}.model"]
    assert len(core_violations(init)) == 1


@pytest.mark.parametrize("text", [
    "import qstash_emulator",
    "from qstash_emulator.core.model import Message",
    "def f():\n    from qstash_emulator import Emulator",
])
def test_client_checker_reports(text: str) -> None:
    assert client_violations(Source("qstash_queue.backends", text))


@pytest.mark.parametrize("text", [
    "import time\ntime.time()",
    "import time as t\nt.monotonic()",
    "from time import sleep\nsleep(1)",
    "import asyncio\nasync def f():\n    await asyncio.sleep(0.5)",
    "import asyncio\nasync def f(d):\n    await asyncio.sleep(d)",
    "from asyncio import sleep\nasync def f():\n    await sleep(delay=2)",
    "from datetime import datetime\ndatetime.now()",
    "import datetime\ndatetime.datetime.utcnow()",
    "import datetime as dt\ndt.datetime.now(dt.UTC)",
])
def test_wall_clock_checker_reports(text: str) -> None:
    assert wall_clock_violations(Source("qstash_emulator.delivery.scheduler", text))


@pytest.mark.parametrize("text", [
    "import asyncio\nasync def f():\n    await asyncio.sleep(0)",
    "import asyncio\nasync def f():\n    await asyncio.sleep(delay=0.0)",
    "from datetime import datetime\ndatetime.fromtimestamp(0)",
    "def f(clock):\n    return clock.now()",
])
def test_wall_clock_checker_allows(text: str) -> None:
    assert wall_clock_violations(Source("qstash_emulator.delivery.scheduler", text)) == []


def test_wall_clock_checker_exempts_clocks_module() -> None:
    assert wall_clock_violations(Source(CLOCK_MODULE, "import time\ntime.time()")) == []


@pytest.mark.parametrize(("module", "reported"), [
    ("qstash_emulator.emulator", True),
    ("qstash_emulator.delivery.dispatchers", True),
    ("qstash_emulator.core.model", True),
    ("qstash_emulator.http.keys", False),
    ("qstash_emulator.http", False),
    ("qstash_emulator.app", False),
    ("qstash_emulator.ui.frame", False),
    ("qstash_emulator.application", True),
])
def test_starlette_checker(module: str, reported: bool) -> None:
    source = Source(module, "from starlette.routing import Route")
    assert bool(starlette_violations(source)) is reported


def test_isort_style_key_matches_ruff() -> None:
    names = ["b", "A", "a2", "a10", "X1", "AB_C", "Ab", "create_app", "VERSION"]
    assert sorted(names, key=isort_style_key) == [
        "AB_C", "VERSION", "X1", "A", "Ab", "a2", "a10", "b", "create_app",
    ]


def test_dunder_all_checker_reports() -> None:
    module = types.ModuleType("fake")
    module.__all__ = ["b", "a", "a", "missing"]  # type: ignore[attr-defined]
    module.a = module.b = 1  # type: ignore[attr-defined]
    problems = dunder_all_problems(module)
    assert len(problems) == 3
    assert any("not sorted" in p for p in problems)
    assert any("duplicates" in p for p in problems)
    assert any("'missing'" in p for p in problems)


def test_dunder_all_checker_accepts_a_good_module() -> None:
    module = types.ModuleType("fake")
    module.__all__ = ["VERSION", "Thing", "make"]  # type: ignore[attr-defined]
    module.VERSION = module.Thing = module.make = 1  # type: ignore[attr-defined]
    assert dunder_all_problems(module) == []


def test_defines_all_detects_assignment_forms() -> None:
    assert _defines_all(Source("m", "__all__ = ['a']"))
    assert _defines_all(Source("m", "__all__: list[str] = ['a']"))
    assert not _defines_all(Source("m", "x = 1"))


# --- layout, cycles and the facade ----------------------------------------------------------

CORE_ROOT_MODULES = frozenset({
    "context", "durations", "errors", "headers", "keys", "model", "plans", "ports", "protocol",
    "recent", "service", "tenants",
})
"""Modules every feature shares; everything about one concept lives in its own subpackage."""
FACADE_HOLDERS = ("service", "service_of")
HANDLER_PACKAGES = ("qstash_emulator.http", "qstash_emulator.ui")
"""The API's handlers and the dashboard's: both reach the core through the service only."""


def core_layout_problems(sources: list[Source]) -> list[str]:
    """`core/` holds the shared modules above and one subpackage per feature, nothing else."""
    problems = []
    for source in sources:
        parts = source.module.split(".")
        if source.is_package or len(parts) != 3 or not _inside(source.module, CORE):
            continue
        if parts[2] not in CORE_ROOT_MODULES:
            problems.append(f"{source.path}: a feature module at the core's root; give its "
                            "concept a subpackage")
    return problems


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def import_graph(sources: list[Source]) -> dict[str, set[str]]:
    """Module -> first-party modules it imports when it runs (not for type checking only)."""
    known = {s.module for s in sources}
    graph: dict[str, set[str]] = {}
    for source in sources:
        skipped = _type_checking_lines(ast.parse(source.text))
        targets = graph.setdefault(source.module, set())
        for line, name in imports_of(source):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and line not in skipped and name != source.module:
                targets.add(name)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def facade_problems(source: Source, facade: type) -> list[str]:
    """Handlers call the service's methods only: no store, no context, no components."""
    if not any(_inside(source.module, package) for package in HANDLER_PACKAGES):
        return []
    methods = {name for name in dir(facade) if callable(getattr(facade, name, None))}
    problems = []
    for node in ast.walk(ast.parse(source.text)):
        if not isinstance(node, ast.Attribute):
            continue
        holder = node.value
        held = holder.attr if isinstance(holder, ast.Attribute) else (
            holder.func.id if isinstance(holder, ast.Call) and isinstance(holder.func, ast.Name)
            else getattr(holder, "id", None))
        if node.attr in ("store", "ctx") or (held in FACADE_HOLDERS and node.attr not in methods):
            problems.append(f"{source.path}:{node.lineno}: reaches past the service: "
                            f"{ast.unparse(node)}")
    return problems


def test_core_holds_shared_modules_and_one_subpackage_per_feature() -> None:
    assert core_layout_problems(list(iter_sources("qstash_emulator"))) == []


def test_no_import_cycles_anywhere() -> None:
    sources = [s for package in PACKAGE_ROOTS for s in iter_sources(package)]
    assert import_cycles(import_graph(sources)) == []


def test_handlers_call_only_the_service() -> None:
    from qstash_emulator.core.service import Service

    assert _all_problems("qstash_emulator", lambda s: facade_problems(s, Service)) == []


def test_layout_checker_reports_a_feature_module_at_the_root() -> None:
    sources = [Source(f"{CORE}.publisher", ""), Source(f"{CORE}.messages.publish", ""),
               Source(f"{CORE}.model", "")]
    assert [p.split(":")[0] for p in core_layout_problems(sources)] == ["<string>"]


def test_cycle_checker_finds_a_cycle_and_ignores_type_checking_imports() -> None:
    sources = [
        Source("qstash_emulator.a", "from . import b"),
        Source("qstash_emulator.b", "from .c import x"),
        Source("qstash_emulator.c", "import qstash_emulator.a"),
        Source("qstash_emulator.d", "from typing import TYPE_CHECKING\n"
                                    "if TYPE_CHECKING:\n    from . import a"),
        Source("qstash_emulator.e", "from . import d"),
    ]
    graph = import_graph(sources)
    assert import_cycles(graph) == [["qstash_emulator.a", "qstash_emulator.b",
                                     "qstash_emulator.c"]]
    assert graph["qstash_emulator.d"] == set()


def test_facade_checker_reports_reaching_into_the_core() -> None:
    class Facade:
        def publish(self) -> None: ...

    bad = Source("qstash_emulator.http.x", "emulator_of(r).service.publisher.publish()\n"
                                           "emulator.store.reset(None)\n"
                                           "service_of(r)._queues\n")
    good = Source("qstash_emulator.http.y", "service_of(r).publish()\nemulator.service.publish()")
    assert len(facade_problems(bad, Facade)) == 3
    assert facade_problems(good, Facade) == []
    dashboard = Source("qstash_emulator.ui.pages", "emulator_of(r).store.message_counts('t')\n"
                                                   "service_of(r)._queries.list_logs()\n")
    assert len(facade_problems(dashboard, Facade)) == 2


# --- store areas ----------------------------------------------------------------------------

WHOLE_STORE_ALLOWED = frozenset({f"{CORE}.ports", f"{CORE}.service"})
"""The service hands each feature the store areas it uses; features never see the whole store."""


def whole_store_violations(source: Source) -> list[str]:
    """No core module but the service imports the whole `Store` protocol from the ports."""
    if not _inside(source.module, CORE) or source.module in WHOLE_STORE_ALLOWED:
        return []
    imports = [node for node in ast.walk(ast.parse(source.text))
               if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("ports")]
    return [f"{source.path}:{node.lineno}: {source.module} takes the whole Store; take the "
            "areas it uses (MessageStore, ...)"
            for node in imports if any(alias.name == "Store" for alias in node.names)]


def test_core_features_take_store_areas_not_the_whole_store() -> None:
    assert _all_problems("qstash_emulator", whole_store_violations) == []


def test_whole_store_checker_reports() -> None:
    bad = Source(f"{CORE}.messages.publish", "from ..ports import Clock, Store")
    fine = Source(f"{CORE}.messages.publish", "from ..ports import MessageStore, GateStore")
    assert len(whole_store_violations(bad)) == 1
    assert whole_store_violations(fine) == []
    assert whole_store_violations(Source(f"{CORE}.service", "from .ports import Store")) == []
