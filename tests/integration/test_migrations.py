"""The Alembic migrations, on SQLite and PostgreSQL: they build the tables the
models describe, undo cleanly, and read the database URL like the app does."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from kzlink.adapters.sql.engine import make_engine
from kzlink.adapters.sql.models import Base
from tests.fixtures.databases import ALEMBIC_DIR, alembic_config

TABLES = {
    "users",
    "links",
    "pending_authorizations",
    "enrollment_tickets",
    "login_failures",
}


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(
                MigrationContext.configure(connection), Base.metadata
            )
    finally:
        engine.dispose()


def test_upgrade_downgrade_and_upgrade_again(empty_database_url):
    config = alembic_config(empty_database_url)

    command.upgrade(config, "head")
    assert tables(empty_database_url) == TABLES
    command.downgrade(config, "base")
    assert tables(empty_database_url) == set()
    command.upgrade(config, "head")
    assert tables(empty_database_url) == TABLES


def test_the_migrations_build_what_the_models_describe(database_url):
    assert differences(database_url) == []


def test_a_connection_can_be_handed_to_the_migrations(empty_database_url):
    config = alembic_config("unused://")
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    assert tables(empty_database_url) == TABLES


def ini_config(path, database_url: str) -> Config:
    path.write_text(
        "[app:main]\n"
        "use = egg:kzlink\n"
        f"sqlalchemy.url = {database_url}\n"
        "\n[alembic]\n"
        f"script_location = {ALEMBIC_DIR}\n"
    )
    return Config(str(path))


def test_the_url_comes_from_the_app_settings_of_the_ini(tmp_path, monkeypatch):
    monkeypatch.delenv("KZLINK_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'from-ini.sqlite'}"
    command.upgrade(ini_config(tmp_path / "app.ini", url), "head")
    assert tables(url) == TABLES


def test_the_environment_overrides_the_ini(tmp_path, monkeypatch):
    ini_url = f"sqlite:///{tmp_path / 'from-ini.sqlite'}"
    env_url = f"sqlite:///{tmp_path / 'from-env.sqlite'}"
    monkeypatch.setenv("KZLINK_DATABASE_URL", env_url)
    command.upgrade(ini_config(tmp_path / "app.ini", ini_url), "head")
    assert tables(env_url) == TABLES
    assert tables(ini_url) == set()


def test_there_is_one_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.mark.parametrize("name", sorted(TABLES))
def test_constraints_are_named_by_the_convention(database_url, name):
    engine = make_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        primary_key = inspector.get_pk_constraint(name)["name"]
        uniques = [u["name"] for u in inspector.get_unique_constraints(name)]
    finally:
        engine.dispose()
    if engine.dialect.name == "postgresql":
        # SQLite does not keep the name of a primary key.
        assert primary_key == f"pk_{name}"
    assert all(unique.startswith(f"uq_{name}_") for unique in uniques)
