"""Neutron's error body, `{"NeutronError": {"type", "message", "detail"}}`, and statuses."""

from __future__ import annotations

import logging

import orjson
from starlette.requests import Request
from starlette.responses import Response

from neutrino.domain.errors import Kind, NeutronError, NotAuthorized

log = logging.getLogger("neutrino.api")

STATUS = {
    Kind.BAD_REQUEST: 400,
    Kind.NOT_AUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.GONE: 410,
    Kind.PRECONDITION_FAILED: 412,
    Kind.TOO_LARGE: 413,
    Kind.UNAVAILABLE: 503,
}


class Unauthenticated(NotAuthorized):
    """401: no valid token. `challenge` becomes `WWW-Authenticate`, so clients learn where to
    get one (Keystone's `Keystone uri="..."`, as keystonemiddleware answers in Neutron)."""

    type_name = "HTTPUnauthorized"

    def __init__(self, challenge: str = "",
                 message: str = "The request you have made requires authentication.") -> None:
        super().__init__(message)
        self.challenge = challenge


def error_response(status: int, type_: str, message: str, detail: str = "",
                   headers: dict[str, str] | None = None) -> Response:
    body = {"NeutronError": {"type": type_, "message": message, "detail": detail}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


async def neutron_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NeutronError)
    headers = None
    if isinstance(exc, Unauthenticated) and exc.challenge:
        headers = {"WWW-Authenticate": exc.challenge}
    return error_response(STATUS[exc.kind], exc.type, exc.message, exc.detail, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    names = {404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 400: "HTTPBadRequest"}
    detail = getattr(exc, "detail", "") or ""
    message = {404: "The resource could not be found.", 405: "Method not allowed."}.get(
        status, str(detail)
    )
    return error_response(status, names.get(status, f"HTTP{status}"), message)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "HTTPInternalServerError", "Request Failed: internal server error while "
        "processing your request."
    )
