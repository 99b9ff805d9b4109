"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from parley.accounts.service import AccountService, AdminRequired, ApiKeyNotAllowed, Principal
from parley.api.errors import ApiError
from parley.chat.completions import CompletionService
from parley.chat.conversations.service import ConversationService
from parley.chat.live.service import ChatService
from parley.chat.responses import ResponseService
from parley.config import Settings
from parley.files.attachments import FileService
from parley.library.archive import ArchiveService
from parley.models import User
from parley.telemetry import HostSampler, Telemetry

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.accounts
    return accounts


def get_chat(request: Request) -> ChatService:
    chat: ChatService = request.app.state.chat
    return chat


def get_conversations(request: Request) -> ConversationService:
    conversations: ConversationService = request.app.state.conversations
    return conversations


def get_archive(request: Request) -> ArchiveService:
    archive: ArchiveService = request.app.state.archive
    return archive


def get_files(request: Request) -> FileService:
    files: FileService = request.app.state.files
    return files


def get_completions(request: Request) -> CompletionService:
    completions: CompletionService = request.app.state.completions
    return completions


def get_responses(request: Request) -> ResponseService:
    responses: ResponseService = request.app.state.responses
    return responses


def get_telemetry(request: Request) -> Telemetry:
    telemetry: Telemetry = request.app.state.telemetry
    return telemetry


def get_host(request: Request) -> HostSampler:
    host: HostSampler = request.app.state.host
    return host


SettingsDep = Annotated[Settings, Depends(get_settings)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]
ArchiveDep = Annotated[ArchiveService, Depends(get_archive)]
FilesDep = Annotated[FileService, Depends(get_files)]
CompletionsDep = Annotated[CompletionService, Depends(get_completions)]
ResponsesDep = Annotated[ResponseService, Depends(get_responses)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
HostDep = Annotated[HostSampler, Depends(get_host)]


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})


async def get_principal(
    request: Request, accounts: AccountsDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise _unauthenticated("A bearer token or API key is required.")
    principal = await accounts.authenticate(token)
    request.state.user_id = principal.user.id  # for the request's log line
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: PrincipalDep) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_logged_in_user(principal: PrincipalDep) -> User:
    """The user, when the request carries a login token: an API key may not mint more keys."""
    if principal.api_key_id is not None:
        raise ApiKeyNotAllowed("manage API keys")
    return principal.user


LoggedInUser = Annotated[User, Depends(get_logged_in_user)]


async def get_admin_user(principal: PrincipalDep) -> User:
    """An administrator speaking with a login token: what changes users, models or settings
    is refused to every API key, an administrator's included."""
    if not principal.user.is_admin:
        raise AdminRequired()
    if principal.api_key_id is not None:
        raise ApiKeyNotAllowed("administer the server")
    return principal.user


AdminUser = Annotated[User, Depends(get_admin_user)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
