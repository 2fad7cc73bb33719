from __future__ import annotations

from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory


def test_a_new_user_signs_up_and_gets_a_token_that_works(db: None) -> None:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/signup/",
        {"username": "maya", "email": "maya@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = client.get("/api/v1/auth/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "maya"


def test_a_weak_password_is_refused_with_the_field_named(db: None) -> None:
    response = APIClient().post(
        "/api/v1/auth/signup/",
        {"username": "maya", "email": "maya@example.com", "password": "123"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "password" in body["fields"]


def test_a_taken_username_is_a_conflict(db: None) -> None:
    UserFactory(username="maya")
    response = APIClient().post(
        "/api/v1/auth/signup/",
        {"username": "maya", "email": "other@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"


def test_log_in_returns_a_token_and_log_out_kills_it(db: None) -> None:
    UserFactory(username="maya")
    client = APIClient()
    response = client.post(
        "/api/v1/auth/login/", {"username": "maya", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    after = client.get("/api/v1/auth/me/")
    assert after.status_code == 401
    assert after.json()["code"] == "authentication_failed"


def test_a_wrong_password_gets_a_clear_code(db: None) -> None:
    UserFactory(username="maya")
    response = APIClient().post(
        "/api/v1/auth/login/", {"username": "maya", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_log_in_is_rate_limited(db: None, settings: object) -> None:
    UserFactory(username="maya")
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/login/", {"username": "maya", "password": "x"}, format="json")
        for _ in range(12)
    ]
    assert [r.status_code for r in codes[:10]] == [401] * 10
    throttled = codes[10].json()
    assert codes[10].status_code == 429
    assert throttled["code"] == "throttled"
    assert throttled["retry_after"] > 0


def test_me_without_credentials_is_401_in_the_error_shape(db: None) -> None:
    response = APIClient().get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert set(response.json()) >= {"code", "detail", "fields"}


def test_unknown_api_paths_answer_json_404(db: None) -> None:
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
