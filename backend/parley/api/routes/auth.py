"""Accounts: register, log in, who am I, log out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from pydantic import BaseModel, ValidationError

from parley.api.deps import AccountsDep, ChatDep, CurrentUser, SettingsDep, client_address
from parley.api.errors import ApiError
from parley.models import UserCreate, UserPublic

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
    return await accounts.register(data)


async def _credentials(request: Request) -> Credentials:
    """JSON `{"username","password"}` or an OAuth2 password form."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return Credentials.model_validate(await request.json())
        form = await request.form()
        return Credentials.model_validate(
            {"username": form.get("username"), "password": form.get("password")}
        )
    except (ValidationError, ValueError):
        # Not a domain error: a body this route reads itself; what the parser says adds nothing.
        raise ApiError(422, "bad_request", "Send a username and a password.") from None


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
    address = client_address(request)
    issued = await accounts.login(credentials.username, credentials.password, address)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> Any:
    return user


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, accounts: AccountsDep, chat: ChatDep) -> None:
    await accounts.logout(user.id)
    await chat.disconnect_user(user.id)
