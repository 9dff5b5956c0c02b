"""Alembic migrations for the extension's tables, shipped as extra version locations.

Each table has its own branch, in its own directory, so an app includes only the tables
it uses (an unused branch would otherwise stay an unapplied head):

- ``strapi_sessions``: the session table (always needed);
- ``strapi_up_users``: the bundled content-API user table (``UpUser``);
- ``strapi_admin_users``: the bundled admin user table (``AdminUser``).

With Flask-Migrate, register :func:`include_migrations` as a configure callback::

    migrate = Migrate(app, db)
    migrate.configure(include_migrations)

``docs/databases.md`` walks through the commands, plain Alembic, and custom user models.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Alembic is an optional dependency (the ``migrations`` extra)
    from alembic.config import Config

SESSIONS = "strapi_sessions"
UP_USERS = "strapi_up_users"
ADMIN_USERS = "strapi_admin_users"
BRANCHES = (SESSIONS, UP_USERS, ADMIN_USERS)

_HERE = Path(__file__).resolve().parent
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


def version_locations(branches: Iterable[str] = BRANCHES) -> list[str]:
    """The directories holding the migration scripts of these branches."""
    chosen = list(branches)
    unknown = sorted(set(chosen) - set(BRANCHES))
    if unknown:
        raise ValueError(
            f"unknown flask_strapi_sessions migration branch {', '.join(unknown)}. "
            f"Accepted: {', '.join(BRANCHES)}."
        )
    return [str(_HERE / branch) for branch in BRANCHES if branch in chosen]


def include_migrations(config: Config, branches: Iterable[str] = BRANCHES) -> Config:
    """Add :func:`version_locations` to an Alembic config, keeping the app's own first.

    Without ``version_locations`` the app's scripts live in ``<script_location>/versions``;
    that location stays in the list. Sets ``path_separator = os`` when the config names
    no separator. Returns ``config`` (the shape Flask-Migrate's ``configure`` wants);
    calling it twice changes nothing. Pass ``branches`` to leave out a bundled user table
    the app does not use, e.g. with ``functools.partial``.
    """
    ours = version_locations(branches)
    name = config.get_main_option("path_separator") or config.get_main_option(
        "version_path_separator"
    )
    current = config.get_main_option("version_locations") or ""
    if name is None:
        # Alembic's legacy rule when no separator is configured: spaces and commas
        locations = re.split(r", *| +", current.strip())
        name = "os"
        config.set_main_option("path_separator", name)
    elif name in _SEPARATORS:
        locations = current.split(_SEPARATORS[name])
    else:
        raise ValueError(
            f"path_separator={name!r} in the Alembic config is not a separator Alembic "
            f"knows. Accepted: {', '.join(_SEPARATORS)}."
        )
    locations = [location.strip() for location in locations if location.strip()]
    if not locations:
        script_location = config.get_main_option("script_location")
        if script_location is None:
            raise ValueError(
                "the Alembic config has no script_location: include_migrations() needs "
                "it to keep the app's own versions directory"
            )
        locations = [os.path.join(script_location, "versions")]
    locations += [location for location in ours if location not in locations]
    # ConfigParser interpolates option values: a literal % must be doubled
    joined = _SEPARATORS[name].join(locations)
    config.set_main_option("version_locations", joined.replace("%", "%%"))
    return config


__all__ = [
    "ADMIN_USERS",
    "BRANCHES",
    "SESSIONS",
    "UP_USERS",
    "include_migrations",
    "version_locations",
]
