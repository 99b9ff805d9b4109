"""Accounts over HTTP: register, log in (throttled), who am I, log out."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests.helpers import (
    PASSWORD,
    Account,
    bearer,
    error_code,
    login,
    new_account,
    register,
    unique_username,
)

SECRET = "a-test-secret-that-is-long-enough-0123456789"


# ---------- register ----------


def test_register_returns_201_with_the_public_user(client: httpx.Client) -> None:
    username = unique_username()
    response = register(client, username)
    assert response.status_code == 201
    body = response.json()
    assert {"id", "username", "created_at"} <= set(body)
    assert body["username"] == username
    assert isinstance(body["id"], str) and body["id"]
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert not {"password", "password_hash", "token_version"} & set(body)


def test_register_taken_username_is_409(client: httpx.Client) -> None:
    username = unique_username()
    assert register(client, username).status_code == 201
    response = register(client, username, "another password")
    assert response.status_code == 409
    assert error_code(response) == "username_taken"


def test_register_username_taken_in_other_case_is_409(client: httpx.Client) -> None:
    username = unique_username("CaseName")
    assert register(client, username).status_code == 201
    response = register(client, username.upper())
    assert response.status_code == 409
    assert error_code(response) == "username_taken"


def test_concurrent_registrations_of_one_name_create_one_user(client: httpx.Client) -> None:
    username = unique_username("Race")
    variants = [username, username.lower(), username.upper(), username, username.lower()]
    with ThreadPoolExecutor(len(variants)) as pool:
        answers = list(pool.map(lambda name: register(client, name), variants))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201, 409, 409, 409, 409]


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("ab", id="too-short"),
        pytest.param("a" * 33, id="too-long"),
        pytest.param("has space", id="space"),
        pytest.param("slash/name", id="slash"),
        pytest.param("émile", id="non-ascii"),
        pytest.param("", id="empty"),
        pytest.param("trailing_newline\n", id="trailing-newline"),
    ],
)
def test_register_bad_username_is_422(client: httpx.Client, username: str) -> None:
    assert register(client, username).status_code == 422


def test_register_username_of_32_chars_is_accepted(client: httpx.Client) -> None:
    username = unique_username("x").ljust(32, ".")
    assert register(client, username).status_code == 201


def test_register_password_of_7_bytes_is_422(client: httpx.Client) -> None:
    assert register(client, unique_username(), "1234567").status_code == 422


def test_register_password_of_73_bytes_is_422(client: httpx.Client) -> None:
    assert register(client, unique_username(), "p" * 73).status_code == 422


def test_register_password_of_37_two_byte_chars_is_422(client: httpx.Client) -> None:
    # 37 characters but 74 bytes: the limit is in bytes.
    assert register(client, unique_username(), "é" * 37).status_code == 422


def test_register_password_of_72_bytes_in_multibyte_chars_works(client: httpx.Client) -> None:
    password = "é" * 36  # 36 characters, 72 bytes
    assert len(password.encode()) == 72
    username = unique_username()
    assert register(client, username, password).status_code == 201
    assert login(client, username, password).status_code == 200
    # bcrypt sees every byte: a password differing only in the last character fails.
    assert login(client, username, "é" * 35 + "è").status_code == 401


def test_register_password_of_8_bytes_in_4_chars_works(client: httpx.Client) -> None:
    assert register(client, unique_username(), "éééé").status_code == 201


def test_register_without_password_is_422(client: httpx.Client) -> None:
    response = client.post("/api/auth/register", json={"username": unique_username()})
    assert response.status_code == 422


def test_register_with_non_json_body_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/api/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_register_ignores_id_user_id_and_is_admin_in_the_body(client: httpx.Client) -> None:
    username = unique_username()
    chosen_id = "00000000-0000-0000-0000-000000000001"
    response = client.post(
        "/api/auth/register",
        json={
            "username": username,
            "password": PASSWORD,
            "id": chosen_id,
            "user_id": chosen_id,
            "is_admin": True,
        },
    )
    assert response.status_code == 201
    assert response.json()["id"] != chosen_id
    token = login(client, username).json()["access_token"]
    me = client.get("/api/auth/me", headers=bearer(token)).json()
    assert me["id"] == response.json()["id"] != chosen_id
    assert me["is_admin"] is False


# ---------- login ----------


def test_login_with_json_returns_a_bearer_token(client: httpx.Client) -> None:
    username = unique_username()
    register(client, username)
    response = login(client, username)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0


def test_login_token_is_hs256_with_sub_iat_exp_matching_expires_in(client: httpx.Client) -> None:
    account = new_account(client)
    body = login(client, account.username).json()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == account.id
    assert claims["exp"] - claims["iat"] == body["expires_in"]


def test_login_with_an_oauth2_form_returns_a_bearer_token(client: httpx.Client) -> None:
    username = unique_username()
    register(client, username)
    response = client.post(
        "/api/auth/login",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    me = client.get("/api/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["username"] == username


def test_login_is_case_insensitive_on_the_username(client: httpx.Client) -> None:
    username = unique_username("Mixed")
    register(client, username)
    assert login(client, username.lower()).status_code == 200


def test_login_wrong_password_and_unknown_user_answer_the_same(client: httpx.Client) -> None:
    username = unique_username()
    register(client, username)
    wrong_password = login(client, username, "not the password")
    unknown_user = login(client, unique_username(), PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert error_code(wrong_password) == "invalid_credentials"
    assert wrong_password.json() == unknown_user.json()


def test_login_without_password_is_422(client: httpx.Client) -> None:
    response = client.post("/api/auth/login", json={"username": unique_username()})
    assert response.status_code == 422


def test_login_with_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/api/auth/login", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_login_with_a_json_list_is_422(client: httpx.Client) -> None:
    response = client.post("/api/auth/login", json=["user", "password"])
    assert response.status_code == 422


def test_sixth_attempt_after_five_failures_is_429_even_with_the_right_password(
    client: httpx.Client,
) -> None:
    username = unique_username()
    register(client, username)
    for _ in range(5):
        assert login(client, username, "wrong password").status_code == 401
    response = login(client, username)
    assert response.status_code == 429
    assert error_code(response) == "too_many_attempts"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 300


def test_throttle_counts_the_username_case_insensitively(client: httpx.Client) -> None:
    username = unique_username("Throttle")
    register(client, username)
    for variant in (username, username.lower(), username.upper(), username, username.lower()):
        assert login(client, variant, "wrong password").status_code == 401
    assert login(client, username).status_code == 429


def test_throttle_applies_to_unknown_usernames_too(client: httpx.Client) -> None:
    username = unique_username()
    for _ in range(5):
        assert login(client, username, "whatever1").status_code == 401
    assert login(client, username, "whatever1").status_code == 429


def test_throttle_is_per_username(client: httpx.Client) -> None:
    blocked, other = unique_username(), unique_username()
    register(client, blocked)
    register(client, other)
    for _ in range(5):
        login(client, blocked, "wrong password")
    assert login(client, blocked).status_code == 429
    assert login(client, other).status_code == 200


def test_success_before_the_fifth_failure_resets_the_count(client: httpx.Client) -> None:
    username = unique_username()
    register(client, username)
    for _ in range(4):
        assert login(client, username, "wrong password").status_code == 401
    assert login(client, username).status_code == 200
    for _ in range(4):
        assert login(client, username, "wrong password").status_code == 401
    assert login(client, username).status_code == 200


# ---------- who am I ----------


def test_me_with_a_token_returns_the_user(client: httpx.Client) -> None:
    account = new_account(client)
    response = client.get("/api/auth/me", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == account.id
    assert body["username"] == account.username
    assert body["is_admin"] is False
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


def test_me_without_a_token_is_401(client: httpx.Client) -> None:
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_me_with_a_garbage_token_is_401(client: httpx.Client) -> None:
    response = client.get("/api/auth/me", headers=bearer("not-a-jwt"))
    assert response.status_code == 401
    assert isinstance(error_code(response), str)


@pytest.fixture
def secret_client(server_factory: type) -> Iterator[httpx.Client]:
    """A client on a server of the test's own whose signing secret we know."""
    server = server_factory(model="scripted", secret_key=SECRET).start()
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http


def forge(
    account: Account, secret: str = SECRET, algorithm: str = "HS256", **claims: object
) -> str:
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "sub": account.id,
        "iat": now,
        "exp": now + timedelta(minutes=10),
        "ver": 0,
    }
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, None if algorithm == "none" else secret, algorithm=algorithm)


def test_me_with_a_token_made_with_the_server_secret_works(secret_client: httpx.Client) -> None:
    # The control for the bad-token tests below: our hand-made tokens are right but for the flaw.
    account = new_account(secret_client)
    response = secret_client.get("/api/auth/me", headers=bearer(forge(account)))
    assert response.status_code == 200
    assert response.json()["id"] == account.id


def test_me_with_an_expired_token_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    past = datetime.now(UTC) - timedelta(hours=2)
    token = forge(account, iat=past, exp=past + timedelta(hours=1))
    response = secret_client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_me_with_a_token_signed_by_another_secret_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    token = forge(account, secret="another-secret-that-is-long-enough-987654")
    assert secret_client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_me_with_an_alg_none_token_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    token = forge(account, algorithm="none")
    assert secret_client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_me_with_a_token_missing_exp_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    token = forge(account, exp=None)
    assert secret_client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_me_with_a_token_missing_iat_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    token = forge(account, iat=None)
    assert secret_client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_me_with_a_token_for_an_unknown_user_is_401(secret_client: httpx.Client) -> None:
    account = new_account(secret_client)
    token = forge(account, sub="00000000-0000-0000-0000-000000000000")
    assert secret_client.get("/api/auth/me", headers=bearer(token)).status_code == 401


# ---------- logout ----------


def two_tokens_in_one_second(client: httpx.Client, account: Account) -> list[str]:
    """The account's tokens so far, two of them with the same `iat` second.

    Logins go three at a time, so they are signed within moments of each other."""
    tokens = [account.token]
    with ThreadPoolExecutor(3) as pool:
        for _ in range(10):
            answers = list(pool.map(lambda _: login(client, account.username), range(3)))
            tokens += [answer.json()["access_token"] for answer in answers]
            stamps = [jwt.decode(t, options={"verify_signature": False})["iat"] for t in tokens]
            if len(set(stamps)) < len(stamps):
                return tokens
    pytest.fail("could not get two tokens issued in the same second")


def test_logout_is_204_and_revokes_every_earlier_token(client: httpx.Client) -> None:
    account = new_account(client)
    tokens = two_tokens_in_one_second(client, account)
    for token in tokens:
        assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    response = client.post("/api/auth/logout", headers=bearer(tokens[-1]))
    assert response.status_code == 204
    assert response.content == b""
    for token in tokens:
        revoked = client.get("/api/auth/me", headers=bearer(token))
        assert revoked.status_code == 401
        assert error_code(revoked) == "not_authenticated"


def test_login_after_logout_gives_a_working_token(client: httpx.Client) -> None:
    account = new_account(client)
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204
    token = login(client, account.username).json()["access_token"]
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200


def test_logout_without_a_token_is_401(client: httpx.Client) -> None:
    response = client.post("/api/auth/logout")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_logout_twice_with_the_same_token_is_401(client: httpx.Client) -> None:
    account = new_account(client)
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 204
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 401


def test_concurrent_failed_logins_get_at_most_five_guesses(client: httpx.Client) -> None:
    username = unique_username()
    register(client, username)
    with ThreadPoolExecutor(12) as pool:
        answers = list(
            pool.map(lambda index: login(client, username, f"guess number {index}"), range(12))
        )
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(401) <= 5, codes
    assert codes.count(429) >= 7, codes
    assert login(client, username).status_code == 429
