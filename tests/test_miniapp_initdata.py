"""The Mini App's init data check against vectors made outside the code under test: one fixed
vector computed with openssl, and init data signed by tests/support/miniapp.py (Telegram's
documented algorithm written out), with the pitfalls seen in other validators."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from bot.miniapp.initdata import (
    MAX_INIT_DATA_CHARS,
    InitDataRefused,
    secret_key,
    validated_user,
)
from tests.support.miniapp import (
    login_widget_secret,
    sign_fields,
    signed_init_data,
    user_json,
    webapp_secret,
)

TOKEN = "123456:TEST-TOKEN"
OTHER_TOKEN = "654321:OTHER-TOKEN"
NOW = 1_733_270_400
DAY = 86_400
USER = {"id": 1001, "first_name": "Demo"}

# Computed with openssl alone:
#   KEY=$(printf '%s' '123456:TEST-TOKEN' | openssl dgst -sha256 -mac HMAC -macopt key:WebAppData)
#   printf '<the four sorted lines>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
# No query_id (as on iOS and from the menu button); chat_instance and chat_type present; the
# photo_url's slashes escaped with backslashes, as Telegram's clients send it.
OPENSSL_VECTOR = (
    "user=%7B%22id%22%3A1001%2C%22first_name%22%3A%22Demo%22%2C%22photo_url%22%3A"
    "%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2Fa.svg%22%7D"
    "&chat_instance=-4242&chat_type=sender&auth_date=1733270400"
    "&hash=13ccd3664961b83c613c28fb8835913c56bc04822523264622704e353e4c4434"
)


def check(init_data: str, token: str = TOKEN, now: int = NOW, max_age: int = DAY) -> int:
    return validated_user(init_data, secret_key(token), now=now, max_age=max_age).id


def test_the_openssl_vector_is_valid() -> None:
    assert check(OPENSSL_VECTOR) == 1001


def test_the_secret_key_is_hmac_of_the_token_under_webappdata() -> None:
    assert secret_key(TOKEN).hex() == (
        "97b85f353212ba6fa887c83713d6be865df1a84f004a490d2f0c564f57ec4513"
    )
    assert secret_key(TOKEN) == webapp_secret(TOKEN)


def test_the_photo_url_is_checked_as_received_not_re_serialized() -> None:
    user = dict(parse_qsl(OPENSSL_VECTOR))["user"]
    # the pitfall: JSON written again loses the backslashes, and with them the hash
    assert json.dumps(json.loads(user), separators=(",", ":")) != user
    assert check(OPENSSL_VECTOR) == 1001


def test_init_data_with_query_id_is_valid() -> None:
    data = signed_init_data(TOKEN, USER, NOW - 60, query_id="AAHdF6IQAAAAAN0XohDhrOrc")
    assert check(data) == 1001


def test_init_data_without_query_id_but_with_chat_fields_is_valid() -> None:
    data = signed_init_data(TOKEN, USER, NOW, chat_instance="-1234567890", chat_type="private")
    assert check(data) == 1001


def test_a_name_with_spaces_and_symbols_survives_encoding() -> None:
    user = {"id": 7, "first_name": "Ann & Bob + Co = 100%", "last_name": "Ünïcode 😀"}
    assert check(signed_init_data(TOKEN, user, NOW)) == 7


def test_the_signature_field_is_part_of_the_checked_string() -> None:
    fields = {"user": user_json(USER), "auth_date": str(NOW), "signature": "abc-_123"}
    assert check(sign_fields(fields, webapp_secret(TOKEN))) == 1001
    # a validator that leaves `signature` out of the string would accept this one instead
    without = {name: value for name, value in fields.items() if name != "signature"}
    signed_without = dict(parse_qsl(sign_fields(without, webapp_secret(TOKEN))))
    forged = urlencode({**fields, "hash": signed_without["hash"]}, quote_via=quote)
    with pytest.raises(InitDataRefused):
        check(forged)


def test_a_hash_made_with_the_login_widget_key_is_refused() -> None:
    fields = {"user": user_json(USER), "auth_date": str(NOW)}
    with pytest.raises(InitDataRefused):
        check(sign_fields(fields, login_widget_secret(TOKEN)))


def test_another_bots_token_is_refused() -> None:
    with pytest.raises(InitDataRefused):
        check(signed_init_data(OTHER_TOKEN, USER, NOW))


def test_an_expired_auth_date_is_refused_and_says_so() -> None:
    assert check(signed_init_data(TOKEN, USER, NOW - DAY)) == 1001  # exactly the limit
    with pytest.raises(InitDataRefused) as refused:
        check(signed_init_data(TOKEN, USER, NOW - DAY - 1))
    assert refused.value.expired
    with pytest.raises(InitDataRefused):
        check(signed_init_data(TOKEN, USER, NOW - 120), max_age=60)


def test_an_auth_date_far_in_the_future_is_refused() -> None:
    with pytest.raises(InitDataRefused):
        check(signed_init_data(TOKEN, USER, NOW + 3600))


def test_a_changed_user_is_refused() -> None:
    data = signed_init_data(TOKEN, USER, NOW)
    tampered = data.replace("1001", "1002")
    assert tampered != data
    with pytest.raises(InitDataRefused):
        check(tampered)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "auth_date=1733270400",  # no hash
        "hash=00&hash=00",
        "not a query string",
        "a=" + "x" * MAX_INIT_DATA_CHARS,
        "&".join(f"f{n}=1" for n in range(100)),
    ],
)
def test_malformed_init_data_is_refused(data: str) -> None:
    with pytest.raises(InitDataRefused):
        check(data)


@pytest.mark.parametrize(
    "fields",
    [
        {"auth_date": str(NOW)},  # no user
        {"user": "not json", "auth_date": str(NOW)},
        {"user": '{"id": "1001"}', "auth_date": str(NOW)},
        {"user": '{"id": true}', "auth_date": str(NOW)},
        {"user": user_json(USER), "auth_date": "soon"},
        {"user": user_json(USER), "auth_date": "1" * 40},
        {"user": user_json(USER), "auth_date": str(NOW), "auth_date_extra": "x", "x": "y" * 10},
    ],
)
def test_signed_but_unusable_fields_are_refused_or_read_safely(fields: dict[str, str]) -> None:
    data = sign_fields(fields, webapp_secret(TOKEN))
    if "auth_date_extra" in fields:
        assert check(data) == 1001  # unknown fields are checked, then ignored
        return
    with pytest.raises(InitDataRefused):
        check(data)


def test_a_duplicated_field_is_refused_even_when_signed() -> None:
    data = signed_init_data(TOKEN, USER, NOW)
    with pytest.raises(InitDataRefused):
        check(data + "&auth_date=" + str(NOW))
