"""The shipped Alembic migrations, driven through Flask-Migrate's ``flask db`` commands.

Each test migrates its own brand-new empty database on the server under test (a file for
SQLite) and compares the result with the models using Alembic's autogenerate comparison.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from flask_strapi_sessions import StrapiSessions
from flask_strapi_sessions.migrations import (
    BRANCHES,
    SESSIONS,
    UP_USERS,
    include_migrations,
    version_locations,
)
from flask_strapi_sessions.models import Base
from tests.support import FAST_HASHER, FakeClock, TestDatabase, base_config

ALL_TABLES = {"strapi_sessions", "up_users", "admin_users"}

# the env.py that `flask db init` writes calls Flask-SQLAlchemy's deprecated get_engine()
pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Flask-Migrate's env.py runs ``logging.fileConfig``, which disables every existing
    logger (the package's included); put logging back as it was for the other tests."""
    manager = logging.Logger.manager
    loggers = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    root_state = (root.level, list(root.handlers))
    yield
    for name, (disabled, level, handlers, propagate) in loggers.items():
        logger = logging.getLogger(name)
        logger.disabled, logger.level, logger.propagate = disabled, level, propagate
        logger.handlers[:] = handlers
    root.setLevel(root_state[0])
    root.handlers[:] = root_state[1]


@pytest.fixture
def empty_url(database: TestDatabase, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database next to the test database."""
    if database.kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    url = sa.engine.make_url(database.url)
    name = f"fss_migrate_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if database.kind == "postgresql" else ""
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        engine.dispose()


@pytest.fixture
def migrating_app(
    database: TestDatabase, empty_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[Callable[..., Flask]]:
    """``migrating_app(branches=…, **config)``: an app with Flask-Migrate on ``empty_url``.

    Nothing is created: the schema comes only from ``flask db`` commands.
    """
    apps: list[Flask] = []

    def factory(branches: tuple[str, ...] = BRANCHES, **config: Any) -> Flask:
        app = Flask("fss_migrations")
        app.config.update(base_config(database))
        app.config.update(SQLALCHEMY_DATABASE_URI=empty_url, **config)
        db = SQLAlchemy(app)
        StrapiSessions(app, db, clock=clock, password_hasher=FAST_HASHER)
        migrate = Migrate(app, db, directory=str(tmp_path / "migrations"))
        migrate.configure(functools.partial(include_migrations, branches=branches))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


def flask_db(app: Flask, *args: str) -> str:
    """Run ``flask db <args>``; fail the test with its output unless it succeeds."""
    # Flask-Migrate's env.py caches a callback bound to the first command's options in
    # the app's migrate config; a real CLI starts each command in a fresh process.
    app.extensions["migrate"].configure_args.pop("process_revision_directives", None)
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)}:\n{result.output}"
    return result.output


def differences(app: Flask, metadata: sa.MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``metadata``."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, metadata))


def inspect_tables(app: Flask) -> dict[str, dict[str, set[str]]]:
    """Per table: its index names and its unique-constraint names, as reflected."""
    with app.app_context():
        inspector = sa.inspect(app.extensions["sqlalchemy"].engine)
        return {
            name: {
                "indexes": {ix["name"] for ix in inspector.get_indexes(name) if ix["name"]},
                "unique": {uc["name"] for uc in inspector.get_unique_constraints(name)},
            }
            for name in inspector.get_table_names()
        }


def test_upgrading_an_empty_database_to_heads_builds_exactly_the_models_schema(
    migrating_app: Callable[..., Flask],
) -> None:
    app = migrating_app()
    flask_db(app, "init")
    flask_db(app, "upgrade", "heads")

    app_metadata = app.extensions["sqlalchemy"].metadata
    assert differences(app, app_metadata) == []
    assert differences(app, Base.metadata) == []
    tables = inspect_tables(app)
    assert set(tables) == ALL_TABLES | {"alembic_version"}
    for table in Base.metadata.sorted_tables:
        assert {ix.name for ix in table.indexes} <= tables[table.name]["indexes"]
        unique = {c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)}
        assert tables[table.name]["unique"] == unique


def test_downgrading_to_base_leaves_no_tables(migrating_app: Callable[..., Flask]) -> None:
    app = migrating_app()
    flask_db(app, "init")
    flask_db(app, "upgrade", "heads")
    flask_db(app, "downgrade", "base")

    assert set(inspect_tables(app)) == {"alembic_version"}
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar() == 0


def test_documented_workflow_gives_one_head_in_the_apps_folder_and_nothing_to_autogenerate(
    migrating_app: Callable[..., Flask], tmp_path: Path
) -> None:
    shipped = {path: path.read_bytes() for path in package_migration_files()}
    app = migrating_app()
    versions = tmp_path / "migrations" / "versions"
    flask_db(app, "init")
    flask_db(
        app, "revision", "--head", "heads", "--version-path", str(versions), "-m", "include fss"
    )
    flask_db(app, "upgrade")
    flask_db(app, "migrate", "-m", "nothing to do")

    written = sorted(path.name for path in versions.glob("*.py"))
    assert len(written) == 1 and written[0].endswith("_include_fss.py")
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        scripts = ScriptDirectory.from_config(config)
        assert len(scripts.get_heads()) == 1
        merge = scripts.get_revision(scripts.get_heads()[0])
        assert set(merge.down_revision) == {
            "fss0001_sessions",
            "fss0001_up_users",
            "fss0001_admin_users",
        }
    assert differences(app, app.extensions["sqlalchemy"].metadata) == []
    assert {path: path.read_bytes() for path in package_migration_files()} == shipped


def test_an_app_without_the_admin_origin_takes_only_the_branches_it_uses(
    migrating_app: Callable[..., Flask],
) -> None:
    app = migrating_app(branches=(SESSIONS, UP_USERS), ADMIN_ENABLED=False)
    flask_db(app, "init")
    flask_db(app, "upgrade", "heads")

    assert set(inspect_tables(app)) == {"strapi_sessions", "up_users", "alembic_version"}
    assert differences(app, app.extensions["sqlalchemy"].metadata) == []


def test_the_session_branch_alone_creates_only_the_session_table(
    migrating_app: Callable[..., Flask],
) -> None:
    app = migrating_app()
    flask_db(app, "init")
    flask_db(app, "upgrade", "strapi_sessions@head")

    assert set(inspect_tables(app)) == {"strapi_sessions", "alembic_version"}


def package_migration_files() -> list[Path]:
    return sorted(path for folder in version_locations() for path in Path(folder).iterdir())


# -- include_migrations on a bare Alembic config ---------------------------------------


def alembic_config(**options: str) -> Config:
    config = Config()
    for key, value in options.items():
        config.set_main_option(key, value)
    return config


def locations(config: Config) -> list[str]:
    return config.get_version_locations_list() or []


def test_include_migrations_keeps_the_apps_own_versions_folder_first() -> None:
    config = include_migrations(alembic_config(script_location="/srv/app/migrations"))
    assert locations(config) == ["/srv/app/migrations/versions", *version_locations()]
    assert config.get_main_option("path_separator") == "os"


def test_include_migrations_twice_changes_nothing() -> None:
    config = include_migrations(alembic_config(script_location="/srv/app/migrations"))
    once = locations(config)
    assert locations(include_migrations(config)) == once


def test_include_migrations_reads_legacy_space_separated_locations() -> None:
    config = alembic_config(script_location="/srv/m", version_locations="/srv/a /srv/b")
    assert locations(include_migrations(config)) == ["/srv/a", "/srv/b", *version_locations()]


def test_include_migrations_keeps_a_configured_separator() -> None:
    config = alembic_config(
        script_location="/srv/m", path_separator=";", version_locations="/srv/a;/srv/b"
    )
    include_migrations(config, branches=[SESSIONS])
    assert locations(config) == ["/srv/a", "/srv/b", *version_locations([SESSIONS])]
    assert config.get_main_option("path_separator") == ";"


def test_include_migrations_doubles_percent_signs_for_configparser() -> None:
    config = include_migrations(alembic_config(script_location="/srv/100%%/migrations"))
    assert locations(config)[0] == "/srv/100%/migrations/versions"


def test_version_locations_rejects_an_unknown_branch() -> None:
    with pytest.raises(ValueError, match="unknown flask_strapi_sessions migration branch nope"):
        version_locations(["strapi_sessions", "nope"])


def test_include_migrations_rejects_an_unknown_path_separator() -> None:
    config = alembic_config(script_location="/srv/m", path_separator="comma")
    with pytest.raises(ValueError, match="path_separator='comma'"):
        include_migrations(config)


def test_include_migrations_needs_a_script_location() -> None:
    with pytest.raises(ValueError, match="no script_location"):
        include_migrations(alembic_config())
