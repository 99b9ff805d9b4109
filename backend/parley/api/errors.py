"""The one error shape of the HTTP API: {"detail": {"code", "message"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, detail={"code": code, "message": message}, headers=headers)


def not_found(what: str = "conversation") -> ApiError:
    # Another user's resource answers exactly like a missing one.
    return ApiError(404, f"{what}_not_found", f"No such {what}.")


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: object = exc.detail
        if not isinstance(detail, dict):
            detail = {"code": _STATUS_CODES.get(exc.status_code, "error"), "message": str(detail)}
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "detail": {
                    "code": "internal_error",
                    "message": "Something went wrong on the server.",
                }
            },
            status_code=500,
        )
