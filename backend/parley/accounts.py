"""Accounts: registration, login with throttling, token checks and logout."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from parley.db import Database
from parley.models import User, UserCreate
from parley.security import (
    DUMMY_PASSWORD_HASH,
    InvalidToken,
    LoginThrottle,
    TokenSigner,
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
    def __init__(self, db: Database, signer: TokenSigner, throttle: LoginThrottle) -> None:
        self._db = db
        self._signer = signer
        self._throttle = throttle

    async def register(self, data: UserCreate, *, is_admin: bool = False) -> User:
        password_hash = await asyncio.to_thread(hash_password, data.password)

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
        retry_after = self._throttle.retry_after(username, address)
        if retry_after is not None:
            raise TooManyAttempts(retry_after)
        user = await self._db.read(
            lambda session: session.exec(
                select(User).where(func.lower(User.username) == username.lower())
            ).first()
        )
        # Unknown users cost a hash check too, so timing does not tell who exists.
        stored_hash = user.password_hash if user is not None else DUMMY_PASSWORD_HASH
        valid = await asyncio.to_thread(verify_password, password, stored_hash)
        if user is None or not valid:
            self._throttle.failed(username, address)
            raise InvalidCredentials()
        self._throttle.succeeded(username, address)
        return self.issue(user)

    def issue(self, user: User) -> IssuedToken:
        return IssuedToken(
            access_token=self._signer.issue(user.id, user.token_version),
            expires_in=int(self._signer.ttl.total_seconds()),
        )

    async def user_for_token(self, token: str) -> User:
        """The user a token speaks for; raises InvalidToken if it is bad, expired or revoked."""
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
