"""Alembic's environment for kzlink: where the database is and what it holds.

The URL comes, first match wins, from a connection or URL a caller put in
``config.attributes`` ("connection", "url"), the ``sqlalchemy.url`` option set
on the Alembic config, or the ini file's app settings read through
``kzlink.settings.load`` (so KZLINK_DATABASE_URL overrides the ini, as it does
for the app).
"""

from alembic import context

from kzlink.adapters.sql.engine import database_url, make_engine
from kzlink.adapters.sql.models import Base

config = context.config
target_metadata = Base.metadata


def configured_url():
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return database_url(url)
    if not config.config_file_name:
        raise RuntimeError("no database URL: pass one or an ini file")

    from pyramid.paster import get_appsettings

    from kzlink import settings

    raw = get_appsettings(config.config_file_name)
    return database_url(settings.load(raw).database_url)


def run_offline():
    url = configured_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        migrate(connection)
        return

    engine = make_engine(configured_url())
    try:
        with engine.connect() as connection:
            migrate(connection)
    finally:
        engine.dispose()


def migrate(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
