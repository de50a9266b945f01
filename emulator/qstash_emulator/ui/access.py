"""Signing in with a tenant's token, which an emulator reachable from other machines asks
for before any action. The token is kept in an HTTP-only, same-site cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..core import protocol as p
from .frame import (
    CROSS_SITE,
    PREFIX,
    TOKEN_COOKIE,
    choice_for,
    emulator_of,
    field,
    reachable_from_elsewhere,
    same_origin,
    see_other,
    service_of,
)


async def sign_in(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse(CROSS_SITE, status_code=403)
    token = field(await request.form(), "token")
    tenant = service_of(request).resolve(token)
    if tenant is None:
        return see_other(PREFIX + "/", error=p.UNAUTHORIZED)
    exposed = reachable_from_elsewhere(emulator_of(request).settings.host)
    answer = see_other(PREFIX + "/", tenant=choice_for(tenant.name, exposed).key,
                       notice="signed in")
    answer.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX)
    return answer


async def sign_out(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse(CROSS_SITE, status_code=403)
    answer = see_other(PREFIX + "/", notice="signed out")
    answer.delete_cookie(TOKEN_COOKIE, path=PREFIX)
    return answer
