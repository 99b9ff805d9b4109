"""Login throttle, signing secret and tokens."""

from __future__ import annotations

import shutil
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from parley.accounts import throttle
from parley.accounts.throttle import LoginThrottle
from parley.security import (
    InvalidToken,
    PasswordChecksBusy,
    PasswordHasher,
    TokenSigner,
    load_or_create_secret,
)

SECRET = "s" * 32
OTHER_SECRET = "o" * 32


class Clock:
    """A settable stand-in for time.monotonic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle.time, "monotonic", fake)
    return fake


# ---------- login throttle ----------


def test_throttle_allows_four_failures() -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") is None


def test_throttle_blocks_after_five_failures(clock: Clock) -> None:
    throttle = LoginThrottle()
    for _ in range(5):
        throttle.failed("alice", "10.0.0.1")
    retry_after = throttle.retry_after("alice", "10.0.0.1")
    assert retry_after is not None and 0 < retry_after <= 300


def test_throttle_counts_usernames_case_insensitively(clock: Clock) -> None:
    throttle = LoginThrottle()
    for name in ("Alice", "ALICE", "alice", "aLiCe", "alicE"):
        throttle.failed(name, "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") is not None


def test_throttle_is_per_username_and_address(clock: Clock) -> None:
    throttle = LoginThrottle()
    for _ in range(5):
        throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.2") is None
    assert throttle.retry_after("bob", "10.0.0.1") is None


async def test_throttle_success_resets_the_count(clock: Clock) -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
    await throttle.succeeded("alice", "10.0.0.1")
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") is None


def test_throttle_window_expiry_allows_attempts_again(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=5, window_s=300)
    for _ in range(5):
        throttle.failed("alice", "10.0.0.1")
        clock.now += 10
    # The first failure was 50 s ago: it leaves the window 250 s from now.
    assert throttle.retry_after("alice", "10.0.0.1") == 250
    clock.now += 249
    assert throttle.retry_after("alice", "10.0.0.1") == 1
    clock.now += 1
    assert throttle.retry_after("alice", "10.0.0.1") is None


def test_throttle_failures_outside_the_window_are_forgotten(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=5, window_s=300)
    for _ in range(4):
        throttle.failed("alice", "10.0.0.1")
    clock.now += 301
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") is None


async def test_throttle_blocks_an_address_spraying_many_usernames(clock: Clock) -> None:
    throttle = LoginThrottle(max_address_failures=30)
    for index in range(30):
        assert await throttle.attempt(f"user{index}", "10.0.0.1") is None
    retry_after = await throttle.attempt("a-fresh-name", "10.0.0.1")
    assert retry_after is not None and 0 < retry_after <= 300
    # Other addresses are not affected, and the window frees the address again.
    assert await throttle.attempt("a-fresh-name", "10.0.0.2") is None
    clock.now += 301
    assert await throttle.attempt("a-fresh-name", "10.0.0.1") is None


async def test_throttle_success_takes_back_only_its_own_attempt_from_the_address(
    clock: Clock,
) -> None:
    throttle = LoginThrottle(max_address_failures=10)
    for index in range(9):
        throttle.failed(f"user{index}", "10.0.0.1")
    # A valid login does not wipe the address's failures: one account cannot launder a spray.
    assert await throttle.attempt("owner", "10.0.0.1") is None
    await throttle.succeeded("owner", "10.0.0.1")
    assert throttle.retry_after("stranger", "10.0.0.1") is None
    throttle.failed("stranger", "10.0.0.1")
    assert throttle.retry_after("stranger", "10.0.0.1") is not None


def test_throttle_memory_is_bounded_by_max_keys(clock: Clock) -> None:
    throttle = LoginThrottle(max_keys=100, max_address_failures=1_000_000)
    for index in range(5_000):
        throttle.failed(f"user{index}", f"10.0.{index % 250}.{index // 250}")
    assert throttle.tracked_keys() <= 200
    # The newest keys are the ones kept.
    for _ in range(4):
        throttle.failed("user4999", "10.0.249.19")
    assert throttle.retry_after("user4999", "10.0.249.19") is not None


# ---------- password hashing pool ----------


async def test_password_checks_beyond_the_cap_are_refused_at_once() -> None:
    hasher = PasswordHasher(rounds=4, threads=1, max_pending=2)
    try:
        with hasher.slot(), hasher.slot(), pytest.raises(PasswordChecksBusy):
            hasher.slot().__enter__()
        with hasher.slot():  # slots are given back
            hashed = await hasher.hash("a fine password")
            assert await hasher.verify("a fine password", hashed)
            assert not await hasher.verify("another password", hashed)
    finally:
        hasher.close()


# ---------- signing secret ----------


def test_generated_secret_is_kept_with_mode_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = load_or_create_secret(None, data_dir)
    path = data_dir / "secret_key"
    assert len(secret.encode()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(None, data_dir) == secret


def test_configured_secret_is_used_and_not_written(tmp_path: Path) -> None:
    assert load_or_create_secret(SECRET, tmp_path) == SECRET
    assert not (tmp_path / "secret_key").exists()


def test_short_configured_secret_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        load_or_create_secret("x" * 31, tmp_path)


def test_short_kept_secret_raises(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("too short\n")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        load_or_create_secret(None, tmp_path)


# ---------- tokens ----------


def signer() -> TokenSigner:
    return TokenSigner(SECRET, timedelta(minutes=5))


def claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "sub": "user-1",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "ver": 0,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def test_issued_token_verifies_to_its_user_and_version() -> None:
    token = signer().issue("user-1", 3)
    verified = signer().verify(token)
    assert (verified.user_id, verified.token_version) == ("user-1", 3)


def test_issued_token_is_hs256_with_sub_iat_exp() -> None:
    token = signer().issue("user-1", 0)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert {"sub", "iat", "exp"} <= set(jwt.decode(token, SECRET, algorithms=["HS256"]))


def test_expired_token_is_rejected() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(claims(iat=past, exp=past + timedelta(minutes=1)), SECRET, "HS256")
    with pytest.raises(InvalidToken):
        signer().verify(token)


def test_token_signed_with_another_secret_is_rejected() -> None:
    token = jwt.encode(claims(), OTHER_SECRET, "HS256")
    with pytest.raises(InvalidToken):
        signer().verify(token)


def test_alg_none_token_is_rejected() -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(InvalidToken):
        signer().verify(token)


@pytest.mark.parametrize("missing", ["sub", "iat", "exp"])
def test_token_missing_a_required_claim_is_rejected(missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, "HS256")
    with pytest.raises(InvalidToken):
        signer().verify(token)


def test_token_with_non_string_subject_is_rejected() -> None:
    token = jwt.encode(claims(sub=42), SECRET, "HS256")
    with pytest.raises(InvalidToken):
        signer().verify(token)


def test_token_with_non_integer_version_is_rejected() -> None:
    token = jwt.encode(claims(ver="0"), SECRET, "HS256")
    with pytest.raises(InvalidToken):
        signer().verify(token)


def test_garbage_token_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        signer().verify("not.a.jwt")


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path) -> None:
    # Two processes (a server and `parley user create`, say) starting on a fresh data directory.
    data_dir = tmp_path / "fresh"
    start = threading.Barrier(8)

    def first_start() -> str:
        start.wait()
        return load_or_create_secret(None, data_dir)

    for _ in range(20):
        shutil.rmtree(data_dir, ignore_errors=True)
        with ThreadPoolExecutor(8) as pool:
            secrets = list(pool.map(lambda _: first_start(), range(8)))
        assert len(set(secrets)) == 1
        assert (data_dir / "secret_key").read_text().strip() == secrets[0]


async def test_throttle_attempt_counts_before_the_outcome_is_known(clock: Clock) -> None:
    throttle = LoginThrottle()
    assert [await throttle.attempt("alice", "10.0.0.1") for _ in range(5)] == [None] * 5
    retry_after = await throttle.attempt("alice", "10.0.0.1")
    assert retry_after is not None and retry_after > 0


async def test_throttle_attempt_then_success_is_not_a_failure(clock: Clock) -> None:
    throttle = LoginThrottle()
    for _ in range(10):
        assert await throttle.attempt("alice", "10.0.0.1") is None
        await throttle.succeeded("alice", "10.0.0.1")


def test_hash_password_uses_the_configured_bcrypt_cost() -> None:
    from parley.security import hash_password, verify_password

    hashed = hash_password("a fine password", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert verify_password("a fine password", hashed)
