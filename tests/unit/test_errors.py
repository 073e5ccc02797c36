"""Domain errors: stable distinct codes and messages fit to show a shopper."""

import re

import pytest

from kzlink.domain import errors


def all_error_classes() -> list[type[errors.Error]]:
    found, pending = [], [errors.Error]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    # Only the domain's own errors; subclasses elsewhere are not ours to judge.
    return [cls for cls in found if cls.__module__ == errors.__name__]


ERRORS = all_error_classes()

# What must never show in a message: formatting left unfilled, or anything
# looking like a secret, a token or a code.
PLACEHOLDER = re.compile(r"\{.*?\}|%[sdr(]|<[a-z_]+>|\bNone\b|TODO|XXX")
SECRET_WORDS = re.compile(r"access_token|refresh_token|bearer|secret|password", re.I)
LONG_OPAQUE = re.compile(r"[A-Za-z0-9_\-]{24,}")


def test_every_error_of_the_module_is_found():
    declared = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.Error)
    }

    assert set(ERRORS) == declared


def test_every_code_is_unique():
    codes = [cls.code for cls in ERRORS]

    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_code_is_a_machine_readable_word(cls):
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_message_is_a_plain_sentence_for_a_shopper(cls):
    message = cls.message

    assert message.strip()
    assert message.endswith(".")
    assert not PLACEHOLDER.search(message)
    assert not SECRET_WORDS.search(message)
    assert not LONG_OPAQUE.search(message)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_a_detail_goes_to_the_exception_not_to_the_message(cls):
    error = cls("kazaplan user 42 is linked to user bob")

    assert error.detail == "kazaplan user 42 is linked to user bob"
    assert error.message == cls.message
    assert str(cls()) == cls.message
