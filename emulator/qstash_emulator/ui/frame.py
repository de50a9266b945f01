"""The dashboard's frame: templates, which tenant a page shows, the safety rules every action
passes, and how an action answers (back to its page with a notice, or the service's error)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.datastructures import URL, FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ..core.errors import EmulatorError, NotFound
from ..core.tenants import DEV_USERS, ID_PREFIX
from ..settings import loopback_only
from . import format as fmt
from .counts import CountsCache
from .nav import NAV, active_entry
from .paths import PREFIX as PREFIX
from .views import figures

if TYPE_CHECKING:
    from ..core.service import Service
    from ..emulator import Emulator

TOKEN_COOKIE = "qstash_emulator_ui_token"
DEFAULT_KEY = DEV_USERS[0].name
TOKEN_FIRST = "this emulator is reachable from other machines: enter the tenant's token first"
CROSS_SITE = "refused: the action was not sent from this dashboard"
DEV_NAMES = frozenset(user.name for user in DEV_USERS)

Endpoint = Callable[[Request], Awaitable[Response]]
PageBuilder = Callable[[Request, "View"], dict[str, Any]]
Action = Callable[[Request, "View", FormData], Awaitable[str]]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("qstash_emulator.ui", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=fmt.when, relative=fmt.relative, text_of=fmt.text_of,
                       pretty=fmt.pretty, preview=fmt.preview, number=fmt.number,
                       percent=fmt.percent, span=fmt.span,
                       segment=lambda text: quote(str(text), safe=""))
    return env


TEMPLATES = Jinja2Templates(env=_environment())


def emulator_of(request: Request) -> Emulator:
    return request.app.state.emulator  # type: ignore[no-any-return]


def service_of(request: Request) -> Service:
    return emulator_of(request).service


def counts_of(request: Request) -> CountsCache:
    return request.app.state.counts  # type: ignore[no-any-return]


def reachable_from_elsewhere(host: str) -> bool:
    """Does listening on `host` let other machines in (anything but a loopback address)?"""
    return not loopback_only(host)


@dataclass(frozen=True, slots=True)
class TenantChoice:
    """A tenant as the picker shows it; URLs carry `key`, never the token itself."""

    key: str
    label: str
    name: str


def choice_for(name: str, exposed: bool) -> TenantChoice:
    """A tenant by its id (never its token): dev users by name, others by a short id."""
    if name in DEV_NAMES:
        return TenantChoice(name, name, name)
    key = name.removeprefix(ID_PREFIX)[:16]
    return TenantChoice(key, f"tenant {key[:8]}" if exposed else name, name)


@dataclass(frozen=True, slots=True)
class View:
    """What every page's frame needs: the tenant shown, the others, and whether the visitor
    may act (always on loopback; elsewhere only with that tenant's token)."""

    tenant: TenantChoice
    choices: list[TenantChoice]
    exposed: bool
    authorized: bool
    host: str


def view_of(request: Request, key: str | None = None) -> View:
    service = service_of(request)
    host = emulator_of(request).settings.host
    exposed = reachable_from_elsewhere(host)
    signed_in = service.resolve(request.cookies.get(TOKEN_COOKIE))
    names = [*service.known_tenants(), *service.quota_tenants()]
    names += [signed_in.name] if signed_in else []
    choices = [choice_for(name, exposed) for name in dict.fromkeys(names)]
    wanted = key or request.query_params.get("tenant") or (
        choice_for(signed_in.name, exposed).key if signed_in else DEFAULT_KEY)
    tenant = next((c for c in choices if c.key == wanted), None)
    if tenant is None:
        raise NotFound(f"unknown tenant {wanted!r}")
    authorized = not exposed or (signed_in is not None and signed_in.name == tenant.name)
    return View(tenant, choices, exposed, authorized, host)


def render(request: Request, view: View, template: str, context: dict[str, Any],
           status_code: int = 200) -> Response:
    emulator = emulator_of(request)
    path = request.url.path
    here = path + (f"?{request.url.query}" if request.url.query else "")
    counts = counts_of(request).counts(view.tenant.name)
    frame = {"view": view, "prefix": PREFIX, "here": here, "nav": NAV,
             "active": active_entry(path.removeprefix(PREFIX) or "/"),
             "version": figures(counts).version, "now_ms": emulator.clock.now_ms(),
             "virtual": emulator.clock.virtual, "link": _linker(view),
             "notice": request.query_params.get("notice"),
             "error": request.query_params.get("error")}
    return TEMPLATES.TemplateResponse(request, template, {**frame, **context},
                                      status_code=status_code)


def _linker(view: View) -> Callable[..., str]:
    def link(path: str, **params: object) -> str:
        """A dashboard URL for the tenant shown (empty parameters left out)."""
        chosen = {k: v for k, v in params.items() if v not in (None, "")}
        return f"{PREFIX}{path}?{urlencode({'tenant': view.tenant.key, **chosen})}"
    return link


def page(template: str) -> Callable[[PageBuilder], Endpoint]:
    """A GET handler: `build(request, view)` gives the template's values."""
    def wrap(build: PageBuilder) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            view = view_of(request)
            return render(request, view, template, build(request, view))
        return endpoint
    return wrap


def action(run: Action) -> Endpoint:
    """A POST handler: same-origin only, the tenant's token first when exposed; then back to
    the page it came from with `run`'s notice, or the service's error message."""
    async def endpoint(request: Request) -> Response:
        if not same_origin(request):
            return PlainTextResponse(CROSS_SITE, status_code=403)
        form = await request.form()
        view = view_of(request, field(form, "tenant") or None)
        back = _back(field(form, "back"), view)
        if not view.authorized:
            return see_other(back, error=TOKEN_FIRST)
        try:
            notice = await run(request, view, form)
        except EmulatorError as exc:
            return see_other(back, error=exc.message)
        finally:
            counts_of(request).forget(view.tenant.name)
        return see_other(back, notice=notice)
    return endpoint


def same_origin(request: Request) -> bool:
    """Browsers name the page a form came from; another site's page may not act here."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return URL(origin).netloc == request.headers.get("host")


def see_other(back: str, **message: str) -> Response:
    url = URL(back).remove_query_params(["notice", "error"]).include_query_params(**message)
    return RedirectResponse(str(url), status_code=303)


def _back(raw: str, view: View) -> str:
    """Where an action returns: a dashboard page only (never another site)."""
    inside = raw == PREFIX or raw.startswith((PREFIX + "/", PREFIX + "?"))
    return raw if inside and "//" not in raw else _linker(view)("/")


def field(form: FormData, name: str) -> str:
    """One text field, trimmed ("" when missing)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def fields(form: FormData) -> dict[str, str]:
    """The form's text fields except the frame's own (`tenant`, `back`)."""
    return {name: value for name, value in form.multi_items()
            if isinstance(value, str) and name not in ("tenant", "back")}
