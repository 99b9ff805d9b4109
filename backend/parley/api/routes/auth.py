"""Accounts: register, log in, who am I, log out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from pydantic import BaseModel, ValidationError

from parley.accounts.service import (
    AccountDisabled,
    InvalidCredentials,
    TooManyAttempts,
    UsernameTaken,
)
from parley.api.deps import AccountsDep, ChatDep, CurrentUser, SettingsDep, client_address
from parley.api.errors import ApiError
from parley.models import UserCreate, UserPublic
from parley.security import PasswordChecksBusy

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Credentials(BaseModel):
    username: str
    password: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def register(
    data: Annotated[
        UserCreate, Body(examples=[{"username": "alice", "password": "correct horse battery"}])
    ],
    accounts: AccountsDep,
    settings: SettingsDep,
) -> Any:
    if not settings.open_registration:
        raise ApiError(403, "registration_closed", "Registration is closed; ask an administrator.")
    try:
        return await accounts.register(data)
    except UsernameTaken as exc:
        raise ApiError(409, "username_taken", "That username is taken.") from exc
    except PasswordChecksBusy as exc:
        raise _busy() from exc


def _busy() -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        "The server is checking too many passwords at once; try again in a moment.",
        headers={"Retry-After": "1"},
    )


async def _credentials(request: Request) -> Credentials:
    """JSON `{"username","password"}` or an OAuth2 password form."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return Credentials.model_validate(await request.json())
        form = await request.form()
        return Credentials.model_validate(
            {"username": form.get("username"), "password": form.get("password")}
        )
    except (ValidationError, ValueError) as exc:
        raise ApiError(422, "bad_request", "Send a username and a password.") from exc


@router.post(
    "/login",
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": Credentials.model_json_schema(),
                    "example": {"username": "alice", "password": "correct horse battery"},
                },
                "application/x-www-form-urlencoded": {"schema": Credentials.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def login(request: Request, accounts: AccountsDep) -> TokenResponse:
    credentials = await _credentials(request)
    try:
        issued = await accounts.login(
            credentials.username, credentials.password, client_address(request)
        )
    except TooManyAttempts as exc:
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed logins; try again in {exc.retry_after} seconds.",
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except InvalidCredentials as exc:
        raise ApiError(401, "invalid_credentials", "Wrong username or password.") from exc
    except AccountDisabled as exc:
        raise ApiError(403, "account_disabled", "This account is disabled.") from exc
    except PasswordChecksBusy as exc:
        raise _busy() from exc
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> Any:
    return user


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, accounts: AccountsDep, chat: ChatDep) -> None:
    await accounts.logout(user.id)
    await chat.disconnect_user(user.id)
