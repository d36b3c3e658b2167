"""Sign-in throttling, CSRF, safe rendering of user text, password hashing."""

from __future__ import annotations

from typing import Any

from django.test import Client

from conftest import PASSWORD, Cast

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def login(client: Client, email: str, password: str) -> Any:
    return client.post("/entrar/", {"email": email, "password": password})


def test_sign_in_works_and_goes_to_the_right_place(cast: Cast) -> None:
    assert login(Client(), "carol@example.com", PASSWORD)["Location"] == "/"
    client = Client()
    login(client, "bob@example.com", PASSWORD)
    assert client.get("/")["Location"] == "/w/andes/console/"


def test_repeated_failures_lock_the_account_even_with_the_right_password(cast: Cast, settings: Any) -> None:
    settings.LOGIN_THROTTLE_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert login(client, "carol@example.com", "wrong").status_code == 400
    assert login(client, "carol@example.com", PASSWORD).status_code == 429
    # other accounts are not locked out by carol's attacker
    assert login(Client(), "erin@example.com", PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_account_failures(cast: Cast, settings: Any) -> None:
    settings.LOGIN_THROTTLE_FAILURES = 3
    for _ in range(2):
        login(Client(), "carol@example.com", "wrong")
    assert login(Client(), "carol@example.com", PASSWORD).status_code == 302
    for _ in range(2):
        login(Client(), "carol@example.com", "wrong")
    assert login(Client(), "carol@example.com", PASSWORD).status_code == 302


def test_open_redirects_after_sign_in_are_refused(cast: Cast) -> None:
    response = Client().post(
        "/entrar/", {"email": "carol@example.com", "password": PASSWORD, "next": "https://evil.example.net/"}
    )
    assert response["Location"] == "/"


def test_posts_without_csrf_token_are_rejected(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users["carol"])
    assert client.post("/w/andes/solicitudes/1/responder/", {"body": "hola"}).status_code == 403
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/entrar/", {"email": "carol@example.com", "password": PASSWORD}).status_code == 403


def test_user_text_is_rendered_as_text_everywhere(cast: Cast) -> None:
    carol = cast.client("carol")
    response = carol.post("/w/andes/solicitudes/nueva/", {"type": "incidente", "subject": XSS, "description": XSS})
    number = int(response["Location"].rstrip("/").split("/")[-1])
    carol.post(f"/w/andes/solicitudes/{number}/responder/", {"body": XSS})
    pages = [
        carol.get(f"/w/andes/solicitudes/{number}/"),
        carol.get("/w/andes/"),
        cast.client("bob").get(f"/w/andes/console/t/{number}/"),
        cast.client("bob").get("/w/andes/console/"),
    ]
    for page in pages:
        html = page.content.decode()
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_passwords_are_hashed_with_argon2_in_production_settings() -> None:
    from config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_attachments_are_not_under_a_public_url() -> None:
    from config import settings as production

    assert production.STORAGES["default"]["OPTIONS"]["base_url"] is None
    assert not hasattr(production, "MEDIA_URL")


# --- no lock-out by strangers (issue 19, item 1; ADR 0015) -------------------------------------------------


def login_from(address: str, email: str, password: str, **headers: str) -> Any:
    return Client(REMOTE_ADDR=address, **headers).post("/entrar/", {"email": email, "password": password})


def test_a_flood_from_one_address_never_stops_other_accounts_correct_sign_ins(cast: Cast) -> None:
    """On a81b1ff, 20 failures from one address locked every account out from it (behind a proxy: everyone)."""
    for n in range(30):
        login_from("203.0.113.7", f"nadie{n}@example.com", "wrong")
    for _ in range(5):
        login_from("203.0.113.7", "carol@example.com", "wrong")
    assert login_from("203.0.113.7", "bob@example.com", PASSWORD).status_code == 302
    assert login_from("203.0.113.7", "erin@example.com", PASSWORD).status_code == 302


def test_a_stranger_guessing_wrong_locks_out_only_himself(cast: Cast, settings: Any) -> None:
    """On a81b1ff, five wrong passwords from anywhere locked the account for everyone."""
    for _ in range(settings.LOGIN_THROTTLE_FAILURES):
        assert login_from("198.51.100.9", "carol@example.com", "wrong").status_code == 400
    assert login_from("198.51.100.9", "carol@example.com", PASSWORD).status_code == 429  # the stranger's pair
    assert login_from("192.0.2.44", "carol@example.com", PASSWORD).status_code == 302  # carol, elsewhere


def test_many_addresses_against_one_account_lock_it_only_where_its_owner_never_signed_in(
    cast: Cast, settings: Any
) -> None:
    assert login_from("192.0.2.44", "carol@example.com", PASSWORD).status_code == 302  # her usual address
    for n in range(settings.LOGIN_THROTTLE_FAILURES * 10):
        login_from(f"198.51.100.{n + 1}", "carol@example.com", "wrong")
    assert login_from("198.51.100.250", "carol@example.com", PASSWORD).status_code == 429  # a new address
    assert login_from("192.0.2.44", "carol@example.com", PASSWORD).status_code == 302  # hers


def test_behind_a_trusted_proxy_the_client_address_comes_from_its_header(cast: Cast, settings: Any) -> None:
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    proxy = "10.0.0.2"
    for _ in range(settings.LOGIN_THROTTLE_FAILURES):
        # a client may prepend anything; the proxy appends the real address last
        login_from(proxy, "carol@example.com", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.44, 198.51.100.9")
    assert login_from(proxy, "carol@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429
    assert login_from(proxy, "carol@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.44").status_code == 302


def test_the_longest_e_mail_fails_to_sign_in_as_a_user_error_from_an_ipv6_address(cast: Cast) -> None:
    """On 2d7fd2e, the failure's throttle key (e-mail and address) overflowed its column: a 500 on PostgreSQL."""
    email = "a" * 248 + "@ex.co"  # 254 characters, the most the forms and the API accept
    address = "2001:db8:85a3:1234:5678:8a2e:370:7334"
    assert Client(REMOTE_ADDR=address).post("/entrar/", {"email": email, "password": "x"}).status_code == 400
    answer = Client(REMOTE_ADDR=address).post(
        "/api/v1/auth/token",
        {"email": email, "password": "x", "workspace": "andes"},
        content_type="application/json",
    )
    assert answer.status_code == 400
