"""Start-up refuses token keys that cannot read what the database holds."""

import pytest

from kzlink.adapters.cipher import generate_key
from kzlink.settings import SettingsError


@pytest.fixture
def linked_webapp(webapp):
    shopper = webapp.shopper()
    shopper.register("keys@example.com", framed=True)
    shopper.link()
    return webapp


def test_keys_that_cannot_decrypt_the_stored_tokens_stop_start_up(
    make_webapp, linked_webapp
):
    with pytest.raises(SettingsError, match="KZLINK_TOKEN_KEYS"):
        make_webapp(**{"kzlink.token_keys": generate_key()})


def test_a_new_key_in_front_of_the_old_one_starts(make_webapp, linked_webapp):
    keys = f"{generate_key()},{linked_webapp.settings.token_keys}"

    restarted = make_webapp(**{"kzlink.token_keys": keys})

    shopper = restarted.shopper()
    shopper.log_in("keys@example.com")
    assert shopper.planner_config()["widget"]["token"]


def test_malformed_keys_stop_start_up_naming_the_setting(make_webapp):
    with pytest.raises(SettingsError, match="KZLINK_TOKEN_KEYS"):
        make_webapp(**{"kzlink.token_keys": "not-a-key"})
