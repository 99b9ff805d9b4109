"""The error shapes of the HTTP API: {"detail": {"code", "message"}} everywhere, except under
/v1 (the OpenAI-compatible routes), where clients expect {"error": {"message", "type", "param",
"code"}}.

Every domain error (a ParleyError) is answered here, its status from its kind; routes raise
and do not translate."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from parley.protocol import HTTP_STATUS, ParleyError

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


# A model that failed to load is `model_not_loaded` to HTTP clients, as one still loading
# is (docs/api.md); the engine and the socket call it `model_failed` / `model_unavailable`.
_HTTP_CODES = {"model_failed": "model_not_loaded"}
# Where OpenAI's clients expect their own name for a code.
_OPENAI_CODES = {**_HTTP_CODES, "unknown_model": "model_not_found"}


def http_status(error: ParleyError) -> int:
    return HTTP_STATUS[error.kind]


_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    422: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}


def is_openai_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def openai_error_body(
    status_code: int, code: str, message: str, param: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": _OPENAI_ERROR_TYPES.get(status_code, "api_error"),
            "param": param,
            "code": code,
        }
    }


def _error_response(
    request: Request,
    status_code: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    if is_openai_path(request.url.path):
        body = openai_error_body(status_code, code, message, param)
    else:
        body = {"detail": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status_code, headers=headers)


def _headers(error: ParleyError) -> dict[str, str]:
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    if error.kind == "unauthenticated":
        headers["WWW-Authenticate"] = "Bearer"
    return headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: object = exc.detail
        if isinstance(detail, dict) and {"code", "message"} <= detail.keys():
            code, message = str(detail["code"]), str(detail["message"])
        else:
            code, message = _STATUS_CODES.get(exc.status_code, "error"), str(detail)
        return _error_response(request, exc.status_code, code, message, exc.headers)

    @app.exception_handler(ParleyError)
    async def domain_error(request: Request, exc: ParleyError) -> JSONResponse:
        codes = _OPENAI_CODES if is_openai_path(request.url.path) else _HTTP_CODES
        code = codes.get(exc.code, exc.code)
        return _error_response(
            request, http_status(exc), code, exc.message, _headers(exc), param=exc.param
        )

    @app.exception_handler(MultiPartException)
    async def unreadable_upload(request: Request, exc: MultiPartException) -> JSONResponse:
        message = f"The multipart body cannot be read: {exc.message}"
        return _error_response(request, 422, "missing_file", message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if not is_openai_path(request.url.path):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        message = f"{'.'.join(location)}: {first['msg']}" if location else str(first["msg"])
        body = openai_error_body(422, "invalid_value", message, location[-1] if location else None)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_response(
            request, 500, "internal_error", "Something went wrong on the server."
        )
