"""Passwords, tokens and the signing secret (the login throttle is accounts/throttle.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import jwt

from parley.protocol import ParleyError

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
# What the secret's fingerprint is the HMAC of: a fixed text, so it tells secrets apart
# without telling anything of the secret.
_FINGERPRINT_TEXT = b"parley secret fingerprint v1"


class InvalidToken(ParleyError):
    """A token or API key that is bad, expired or revoked, or whose user is disabled;
    `reason` says which, for the server's eyes only."""

    default_code = "not_authenticated"
    default_kind = "unauthenticated"

    def __init__(self, reason: str) -> None:
        super().__init__("The token or API key is invalid, expired or revoked.")
        self.reason = reason


DEFAULT_BCRYPT_ROUNDS = 12


def hash_password(password: str, rounds: int = DEFAULT_BCRYPT_ROUNDS) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, else the one kept in the data directory, made on first start."""
    if configured is not None:
        secret = configured
    else:
        path = data_dir / "secret_key"
        secret = path.read_text().strip() if path.exists() else _create_secret(path)
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the secret key must be at least {MIN_SECRET_BYTES} bytes; "
            "set PARLEY_SECRET_KEY to a longer value or leave it unset to generate one"
        )
    return secret


def secret_fingerprint(secret: str) -> str:
    """A keyed fingerprint of the secret (HMAC-SHA-256 of a fixed text), safe to store."""
    return hmac.new(secret.encode("utf-8"), _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()


def _create_secret(path: Path) -> str:
    """Write a new secret, or read the one another process wrote first.

    The file appears complete or not at all: written aside, then hard-linked into place (which
    fails if it exists), so a process starting at the same moment never reads it half-written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        draft.unlink()
    return secret


API_KEY_BYTES = 32
API_KEY_HINT_CHARS = 10


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str
    key_hash: str
    hint: str


def hash_api_key(key: str) -> str:
    """Keys carry 256 random bits, so a plain SHA-256 is as good as a slow hash here."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key(prefix: str) -> NewApiKey:
    key = prefix + secrets.token_urlsafe(API_KEY_BYTES)
    return NewApiKey(key=key, key_hash=hash_api_key(key), hint=key[:API_KEY_HINT_CHARS] + "…")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    token_version: int
    expires_at: datetime


class TokenSigner:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(self, user_id: str, token_version: int) -> str:
        now = datetime.now(UTC)
        claims = {"sub": user_id, "iat": now, "exp": now + self.ttl, "ver": token_version}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        user_id = claims.get("sub")
        version = claims.get("ver", 0)
        if not isinstance(user_id, str) or not isinstance(version, int):
            raise InvalidToken("malformed claims")
        try:
            expires_at = datetime.fromtimestamp(claims["exp"], UTC)  # PyJWT checked it is a number
        except (OverflowError, ValueError, OSError) as exc:
            raise InvalidToken("expiry out of range") from exc
        return TokenClaims(user_id=user_id, token_version=version, expires_at=expires_at)


class PasswordChecksBusy(ParleyError):
    """More password checks are running or waiting than the server takes at once."""

    default_code = "rate_limited"
    default_kind = "rate_limited"

    def __init__(self) -> None:
        super().__init__(
            "The server is checking too many passwords at once; try again in a moment.",
            retry_after_s=1,
        )


class PasswordHasher:
    """bcrypt on a small thread pool of its own, so a flood of logins queues here and never in
    front of the database reads on the default pool. At most `max_pending` checks hold a slot
    (running or waiting) at once; beyond that `slot` raises PasswordChecksBusy at once."""

    def __init__(
        self, rounds: int = DEFAULT_BCRYPT_ROUNDS, threads: int = 2, max_pending: int = 16
    ) -> None:
        self.rounds = rounds
        self.max_pending = max_pending
        self._pending = 0
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="parley-bcrypt")

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self._pending >= self.max_pending:
            raise PasswordChecksBusy()
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, hash_password, password, self.rounds)

    async def verify(self, password: str, password_hash: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, verify_password, password, password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
