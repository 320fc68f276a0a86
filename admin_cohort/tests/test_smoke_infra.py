import pytest

from tests.factories import UserFactory


@pytest.mark.django_db
def test_login_then_list_users(anonymous, full_admin):
    response = anonymous.post(
        "/auth/login/",
        {"username": full_admin.username, "password": "pass-word-123"},
        format="multipart",
        HTTP_AUTHORIZATION="Bearer null",
        HTTP_AUTHORIZATIONMETHOD="JWT",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["username"] == full_admin.username
    listing = anonymous.get(
        "/users/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}", HTTP_AUTHORIZATIONMETHOD="JWT"
    )
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    UserFactory()
