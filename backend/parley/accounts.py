"""Accounts: registration, login with throttling, token checks and logout."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from parley.db import Database
from parley.models import API_KEY_PREFIX, ApiKey, ApiKeyCreate, ApiKeyCreated, User, UserCreate
from parley.security import (
    DEFAULT_BCRYPT_ROUNDS,
    InvalidToken,
    LoginThrottle,
    TokenSigner,
    generate_api_key,
    hash_api_key,
    hash_password,
    verify_password,
)


class UsernameTaken(Exception):
    pass


class InvalidCredentials(Exception):
    pass


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class AccountService:
    def __init__(
        self,
        db: Database,
        signer: TokenSigner,
        throttle: LoginThrottle,
        bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS,
    ) -> None:
        self._db = db
        self._signer = signer
        self._throttle = throttle
        self._rounds = bcrypt_rounds
        # Checked against when a username is unknown, so both failures take the same time.
        self._dummy_hash = hash_password(secrets.token_hex(8), bcrypt_rounds)

    async def register(self, data: UserCreate, *, is_admin: bool = False) -> User:
        password_hash = await asyncio.to_thread(hash_password, data.password, self._rounds)

        def work(session: Session) -> User:
            taken = session.exec(
                select(User).where(func.lower(User.username) == data.username.lower())
            ).first()
            if taken is not None:
                raise UsernameTaken(data.username)
            user = User(username=data.username, password_hash=password_hash, is_admin=is_admin)
            session.add(user)
            session.flush()
            return user

        try:
            return await self._db.write(work)
        except IntegrityError as exc:
            raise UsernameTaken(data.username) from exc

    async def login(self, username: str, password: str, address: str) -> IssuedToken:
        # Counted before the slow hash check, so concurrent guesses cannot outrun the limit.
        retry_after = self._throttle.attempt(username, address)
        if retry_after is not None:
            raise TooManyAttempts(retry_after)
        user = await self._db.read(
            lambda session: session.exec(
                select(User).where(func.lower(User.username) == username.lower())
            ).first()
        )
        # Unknown users cost a hash check too, so timing does not tell who exists.
        stored_hash = user.password_hash if user is not None else self._dummy_hash
        valid = await asyncio.to_thread(verify_password, password, stored_hash)
        if user is None or not valid:
            raise InvalidCredentials()
        self._throttle.succeeded(username, address)
        return self.issue(user)

    def issue(self, user: User) -> IssuedToken:
        return IssuedToken(
            access_token=self._signer.issue(user.id, user.token_version),
            expires_in=int(self._signer.ttl.total_seconds()),
        )

    async def user_for_token(self, token: str) -> User:
        """The user a token or an API key speaks for; raises InvalidToken if it is bad,
        expired or revoked."""
        if token.startswith(API_KEY_PREFIX):
            return await self._user_for_api_key(token)
        claims = self._signer.verify(token)
        user = await self._db.read(lambda session: session.get(User, claims.user_id))
        if user is None or user.token_version != claims.token_version:
            raise InvalidToken("revoked")
        return user

    async def logout(self, user_id: str) -> None:
        """Revoke every token issued to the user so far."""

        def work(session: Session) -> None:
            user = session.get(User, user_id)
            if user is not None:
                user.token_version += 1
                session.add(user)

        await self._db.write(work)

    # ---------- API keys (for scripts; logout leaves them valid) ----------

    async def _user_for_api_key(self, key: str) -> User:
        key_hash = hash_api_key(key)

        def work(session: Session) -> User | None:
            return session.exec(
                select(User)
                .join(ApiKey, col(ApiKey.owner_id) == col(User.id))
                .where(ApiKey.key_hash == key_hash)
            ).first()

        user = await self._db.read(work)
        if user is None:
            raise InvalidToken("unknown or revoked API key")
        return user

    async def create_api_key(self, user_id: str, data: ApiKeyCreate) -> ApiKeyCreated:
        new_key = generate_api_key(API_KEY_PREFIX)
        row = ApiKey(name=data.name, owner_id=user_id, key_hash=new_key.key_hash, hint=new_key.hint)

        def work(session: Session) -> ApiKey:
            session.add(row)
            session.flush()
            return row

        saved = await self._db.write(work)
        return ApiKeyCreated(
            id=saved.id,
            name=saved.name,
            hint=saved.hint,
            created_at=saved.created_at,
            key=new_key.key,
        )

    async def api_keys(self, user_id: str) -> list[ApiKey]:
        return await self._db.read(
            lambda session: list(
                session.exec(
                    select(ApiKey)
                    .where(ApiKey.owner_id == user_id)
                    .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id))
                ).all()
            )
        )

    async def revoke_api_key(self, user_id: str, key_id: str) -> bool:
        """Delete one of the user's keys; it stops working at once. False if there is none."""

        def work(session: Session) -> bool:
            row = session.get(ApiKey, key_id)
            if row is None or row.owner_id != user_id:
                return False
            session.delete(row)
            return True

        return await self._db.write(work)
