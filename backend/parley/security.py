"""Passwords, tokens, the signing secret and the login throttle."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import jwt

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


class InvalidToken(Exception):
    pass


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
        return TokenClaims(user_id=user_id, token_version=version)


class LoginThrottle:
    """Counts failed logins per (username, client address) in a sliding window."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if failures:
            self._failures[key] = failures
        else:
            self._failures.pop(key, None)
        return failures

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        now = time.monotonic()
        failures = self._recent((username.lower(), address), now)
        if len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[-self.max_failures] + self.window_s - now))

    def attempt(self, username: str, address: str) -> int | None:
        """Start an attempt: seconds to wait, or None with the attempt counted as a failure
        until `succeeded` clears it, so guesses in flight together count before they finish."""
        retry_after = self.retry_after(username, address)
        if retry_after is None:
            self.failed(username, address)
        return retry_after

    def failed(self, username: str, address: str) -> None:
        key = (username.lower(), address)
        self._recent(key, time.monotonic())
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username.lower(), address), None)
