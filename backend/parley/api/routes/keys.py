"""API keys for scripts: create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from parley.api.deps import AccountsDep, ChatDep, LoggedInUser, SettingsDep
from parley.api.errors import not_found
from parley.models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = APIRouter(prefix="/api/keys", tags=["api keys"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    description=(
        "Create a key for scripts, sent as `Authorization: Bearer <key>` (or as the WebSocket "
        "`auth` frame's token). The key is in this answer only; the server keeps its hash. "
        "Keys survive logout: revoke them here. A key may carry an `expires_at`. "
        "Managing keys takes a login token: an API key gets 403 `api_key_not_allowed`."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {"name": "nightly script", "expires_at": "2027-01-01T00:00:00Z"}
                }
            }
        }
    },
)
async def create_key(
    data: ApiKeyCreate, user: LoggedInUser, accounts: AccountsDep, settings: SettingsDep
) -> Any:
    return await accounts.create_api_key(user.id, data, settings.max_api_keys_per_user)


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(user: LoggedInUser, accounts: AccountsDep) -> Any:
    return await accounts.api_keys(user.id)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, user: LoggedInUser, accounts: AccountsDep, chat: ChatDep) -> None:
    """The key stops working at once, and sockets it opened close with 4401."""
    if not await accounts.revoke_api_key(user.id, key_id):
        raise not_found("api_key")
    await chat.disconnect_api_key(key_id)
