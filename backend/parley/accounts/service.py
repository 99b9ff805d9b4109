"""Accounts: registration, login with throttling, credential checks, logout, administration."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from parley.accounts.throttle import Throttle
from parley.db import Database, DatabaseError
from parley.models import (
    API_KEY_PREFIX,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    SecretFingerprint,
    User,
    UserAdminUpdate,
    UserCreate,
    utcnow,
)
from parley.protocol import ParleyError, QuotaExceeded
from parley.security import (
    InvalidToken,
    PasswordHasher,
    TokenSigner,
    generate_api_key,
    hash_api_key,
    hash_password,
    secret_fingerprint,
)

TOKENS_PURPOSE = "tokens"


class UsernameTaken(ParleyError):
    default_code = "username_taken"
    default_kind = "conflict"

    def __init__(self) -> None:
        super().__init__("That username is taken.")


class InvalidCredentials(ParleyError):
    """The same for an unknown user and a wrong password."""

    default_code = "invalid_credentials"
    default_kind = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class TooManyAttempts(ParleyError):
    default_code = "too_many_attempts"
    default_kind = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"Too many failed logins; try again in {retry_after_s} seconds.",
            retry_after_s=retry_after_s,
        )


class AccountDisabled(ParleyError):
    default_code = "account_disabled"
    default_kind = "forbidden"

    def __init__(self) -> None:
        super().__init__("This account is disabled.")


class ApiKeyNotAllowed(ParleyError):
    """What changes users, keys or settings takes a login token: a leaked script key cannot
    mint keys or administrators."""

    default_code = "api_key_not_allowed"
    default_kind = "forbidden"

    def __init__(self, action: str) -> None:
        super().__init__(f"API keys cannot {action}; use a login token.")


class AdminRequired(ParleyError):
    default_code = "admin_required"
    default_kind = "forbidden"

    def __init__(self) -> None:
        super().__init__("Only an administrator may do this.")


class UserNotFound(ParleyError):
    default_code = "user_not_found"
    default_kind = "not_found"

    def __init__(self) -> None:
        super().__init__("No such user.")


class LastAdmin(ParleyError):
    """The change would leave no enabled administrator."""

    default_code = "last_admin"
    default_kind = "conflict"

    def __init__(self) -> None:
        super().__init__("At least one enabled administrator must remain.")


class SecretMismatch(DatabaseError):
    def __init__(self) -> None:
        super().__init__(
            "this database is in use with another secret key: instances that share a database "
            "must share PARLEY_SECRET_KEY (give this one the others' secret), or a token from "
            "one is refused by the others; to change the secret on purpose, stop every instance "
            "and run `parley secret adopt` with the new one"
        )


def claim_secret(db: Database, secret: str) -> None:
    """Record the fingerprint of the secret that signs tokens on the database's first start;
    raise SecretMismatch on a later start with another one (blocking; before serving)."""
    fingerprint = secret_fingerprint(secret)

    def work(session: Session) -> None:
        stored = session.get(SecretFingerprint, TOKENS_PURPOSE)
        if stored is None:
            session.add(SecretFingerprint(purpose=TOKENS_PURPOSE, fingerprint=fingerprint))
        elif not hmac.compare_digest(stored.fingerprint, fingerprint):
            raise SecretMismatch()

    # A write transaction: instances starting at once on a new database take turns.
    db.run_write(work)


def adopt_secret(db: Database, secret: str) -> None:
    """Make `secret` the one the database is used with (a deliberate change: the tokens the
    old one signed stop working)."""

    def work(session: Session) -> None:
        stored = session.get(SecretFingerprint, TOKENS_PURPOSE)
        if stored is None:
            stored = SecretFingerprint(purpose=TOKENS_PURPOSE, fingerprint="")
        stored.fingerprint = secret_fingerprint(secret)
        session.add(stored)

    db.run_write(work)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request or a socket speaks for, and by which credential."""

    user: User
    api_key_id: str | None  # None: a login token
    expires_at: datetime | None  # None: a key without expiry


class AccountService:
    def __init__(
        self, db: Database, signer: TokenSigner, throttle: Throttle, hasher: PasswordHasher
    ) -> None:
        self._db = db
        self._signer = signer
        self._throttle = throttle
        self._hasher = hasher
        # Checked against when a username is unknown, so both failures take the same time.
        self._dummy_hash = hash_password(secrets.token_hex(8), hasher.rounds)

    async def register(self, data: UserCreate, *, is_admin: bool = False) -> User:
        """Raises UsernameTaken, or PasswordChecksBusy when too many hashes are in progress."""
        with self._hasher.slot():
            password_hash = await self._hasher.hash(data.password)

        def work(session: Session) -> User:
            taken = session.exec(
                select(User).where(func.lower(User.username) == data.username.lower())
            ).first()
            if taken is not None:
                raise UsernameTaken()
            user = User(username=data.username, password_hash=password_hash, is_admin=is_admin)
            session.add(user)
            session.flush()
            return user

        try:
            return await self._db.write(work)
        except IntegrityError as exc:
            raise UsernameTaken() from exc

    async def login(self, username: str, password: str, address: str) -> IssuedToken:
        """Raises TooManyAttempts, InvalidCredentials, AccountDisabled (only to whoever knows
        the password), or PasswordChecksBusy (before anything is counted)."""
        with self._hasher.slot():
            # Counted before the slow hash check, so concurrent guesses cannot outrun the limit.
            retry_after = await self._throttle.attempt(username, address)
            if retry_after is not None:
                raise TooManyAttempts(retry_after)
            user = await self.user_by_name(username)
            # Unknown users cost a hash check too, so timing does not tell who exists.
            stored_hash = user.password_hash if user is not None else self._dummy_hash
            valid = await self._hasher.verify(password, stored_hash)
        if user is None or not valid:
            raise InvalidCredentials()
        await self._throttle.succeeded(username, address)
        if user.disabled:
            raise AccountDisabled()
        return self.issue(user)

    async def user_by_name(self, username: str) -> User | None:
        return await self._db.read(
            lambda session: session.exec(
                select(User).where(func.lower(User.username) == username.lower())
            ).first()
        )

    def issue(self, user: User) -> IssuedToken:
        return IssuedToken(
            access_token=self._signer.issue(user.id, user.token_version),
            expires_in=int(self._signer.ttl.total_seconds()),
        )

    async def authenticate(self, token: str) -> Principal:
        """Who a token or an API key speaks for; raises InvalidToken if it is bad, expired,
        revoked, or its user is disabled."""
        if token.startswith(API_KEY_PREFIX):
            return await self._api_key_principal(token)
        claims = self._signer.verify(token)
        user = await self._db.read(lambda session: session.get(User, claims.user_id))
        if user is None or user.token_version != claims.token_version or user.disabled:
            raise InvalidToken("revoked")
        return Principal(user=user, api_key_id=None, expires_at=claims.expires_at)

    async def logout(self, user_id: str) -> None:
        """Revoke every token issued to the user so far."""

        def work(session: Session) -> None:
            user = session.get(User, user_id)
            if user is not None:
                user.token_version += 1
                session.add(user)

        await self._db.write(work)

    # ---------- API keys (for scripts; logout leaves them valid) ----------

    async def _api_key_principal(self, key: str) -> Principal:
        key_hash = hash_api_key(key)

        def work(session: Session) -> tuple[User, ApiKey] | None:
            row = session.exec(
                select(User, ApiKey)
                .join(ApiKey, col(ApiKey.owner_id) == col(User.id))
                .where(ApiKey.key_hash == key_hash)
            ).first()
            return None if row is None else (row[0], row[1])

        found = await self._db.read(work)
        if found is None:
            raise InvalidToken("unknown or revoked API key")
        user, api_key = found
        if user.disabled or (api_key.expires_at is not None and api_key.expires_at <= utcnow()):
            raise InvalidToken("expired API key or disabled user")
        return Principal(user=user, api_key_id=api_key.id, expires_at=api_key.expires_at)

    async def create_api_key(
        self, user_id: str, data: ApiKeyCreate, max_keys: int
    ) -> ApiKeyCreated:
        """A new key; QuotaExceeded when the user already holds `max_keys`."""
        new_key = generate_api_key(API_KEY_PREFIX)
        row = ApiKey(
            name=data.name,
            owner_id=user_id,
            key_hash=new_key.key_hash,
            hint=new_key.hint,
            expires_at=data.expires_at,
        )

        def work(session: Session) -> ApiKey:
            # Counted in the write transaction, so that keys made at once cannot pass it.
            held = session.exec(
                select(func.count()).select_from(ApiKey).where(col(ApiKey.owner_id) == user_id)
            ).one()
            if held >= max_keys:
                raise QuotaExceeded(
                    "too_many_api_keys", "API keys", max_keys, "max_api_keys_per_user"
                )
            session.add(row)
            session.flush()
            return row

        saved = await self._db.write(work)
        return ApiKeyCreated(
            id=saved.id,
            name=saved.name,
            hint=saved.hint,
            created_at=saved.created_at,
            expires_at=saved.expires_at,
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

    # ---------- administration ----------

    async def users(self) -> list[User]:
        return await self._db.read(
            lambda session: list(
                session.exec(select(User).order_by(col(User.created_at), col(User.id))).all()
            )
        )

    async def update_user(self, user_id: str, changes: UserAdminUpdate) -> User:
        """Disable or enable a user, make or unmake an administrator. Disabling also revokes
        every token issued so far, so enabling again does not bring old tokens back. Raises
        UserNotFound, or LastAdmin when no enabled administrator would be left."""

        def work(session: Session) -> User:
            user = session.get(User, user_id)
            if user is None:
                raise UserNotFound()
            was_serving_admin = user.is_admin and not user.disabled
            if changes.disabled is not None:
                if changes.disabled and not user.disabled:
                    user.token_version += 1
                user.disabled = changes.disabled
            if changes.is_admin is not None:
                user.is_admin = changes.is_admin
            if was_serving_admin and not (user.is_admin and not user.disabled):
                others = session.exec(
                    select(func.count())
                    .select_from(User)
                    .where(col(User.is_admin), ~col(User.disabled), col(User.id) != user_id)
                ).one()
                if others == 0:
                    raise LastAdmin()
            session.add(user)
            session.flush()
            return user

        return await self._db.write(work)
