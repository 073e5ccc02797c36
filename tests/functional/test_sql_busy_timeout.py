"""On SQLite, a request waiting for the write lock outlasts a Kazaplan call.

A refresh holds SQLite's write lock while it calls Kazaplan; a request that
waited less than that call could last would fail instead of getting its answer.
"""

import pytest


def busy_timeout_ms(webapp) -> int:
    engine = webapp.app.registry.dbsession_factory.kw["bind"]
    with engine.connect() as connection:
        return connection.exec_driver_sql("PRAGMA busy_timeout").scalar()


@pytest.mark.parametrize(("connect", "read"), [("1", "1"), ("3.05", "10"), ("5", "60")])
def test_the_wait_outlasts_the_longest_kazaplan_call(make_webapp, connect, read):
    webapp = make_webapp(
        **{"kzlink.http_connect_timeout": connect, "kzlink.http_read_timeout": read}
    )

    longest_call_ms = (float(connect) + float(read)) * 1000
    assert busy_timeout_ms(webapp) > longest_call_ms
