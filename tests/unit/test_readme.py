"""The README's settings table against the settings kzlink really reads."""

import re
from pathlib import Path

from kzlink.settings import OPTIONS

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<key>[\w.]+)` \| `(?P<env>\w+)` \| (?P<default>[^|]+) \|")


def documented() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in README.read_text().splitlines():
        match = ROW.match(line)
        if match:
            default = match["default"].strip()
            rows[match["key"]] = (match["env"], default)
    return rows


def test_every_setting_is_documented_with_its_variable_and_default():
    rows = documented()

    assert set(rows) == {option.key for option in OPTIONS}
    for option in OPTIONS:
        env, default = rows[option.key]
        assert env == option.env, option.key
        if option.default:
            assert default == f"`{option.default}`", option.key
        else:
            assert default.startswith("(none"), option.key
