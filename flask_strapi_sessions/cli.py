"""The ``flask strapi`` command group: admin users, sessions, purge."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from . import sessions
from .config import ADMIN, USERS_PERMISSIONS
from .state import get_state
from .store import OPERATOR
from .users import EMAIL, admin_password_problem, iso_time

strapi_cli = AppGroup("strapi", help="Flask-Strapi-Sessions: users and sessions.")
ORIGINS = click.Choice([ADMIN, USERS_PERMISSIONS])


def _require_sessions(origin: str) -> None:
    """A clear CLI error, not a traceback, for an origin without session rows."""
    settings = get_state().settings.for_origin(origin)
    if not settings.enabled:
        raise click.ClickException(f"the {origin!r} origin is disabled on this app")
    if not settings.sessions_enabled:
        raise click.ClickException(
            f"{origin!r} is in legacy-support mode: it has no sessions "
            "(set UP_JWT_MANAGEMENT=refresh to use sessions)"
        )


@strapi_cli.command("init-db")
def init_db() -> None:
    """Create the extension's tables (and the app's) with db.create_all()."""
    get_state().db.create_all()
    click.echo("Tables created.")


@strapi_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--firstname", required=True)
@click.option("--lastname", default=None)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, firstname: str, lastname: str | None, password: str) -> None:
    """Create an admin user."""
    state = get_state()
    if not state.settings.admin.enabled:
        raise click.ClickException("the 'admin' origin is disabled on this app (ADMIN_ENABLED)")
    users = state.admin.users
    db = state.session
    problem = admin_password_problem(password)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="--password")
    if not EMAIL.fullmatch(email):
        raise click.BadParameter("must be a valid e-mail address", param_hint="--email")
    try:
        user = users.create(
            db,
            {"email": email.lower(), "firstname": firstname, "lastname": lastname},
            state.hasher.hash(password),
        )
        db.commit()
    except IntegrityError:
        db.rollback()
        raise click.ClickException(f"an admin with e-mail {email!r} already exists") from None
    click.echo(f"Created admin {users.user_id(user)} <{email.lower()}>.")


@strapi_cli.group("sessions")
def sessions_group() -> None:
    """List and revoke sessions."""


@sessions_group.command("list")
@click.option("--origin", type=ORIGINS, default=USERS_PERMISSIONS, show_default=True)
@click.option("--user", "user_id", required=True, help="the user's id")
def list_command(origin: str, user_id: str) -> None:
    """List a user's live sessions."""
    _require_sessions(origin)
    rows = sessions.list_sessions(origin, user_id)
    if not rows:
        click.echo("No live sessions.")
    for row in rows:
        click.echo(
            f"{row.session_id}  device={row.device_id}  {row.device_name or '-'}  "
            f"type={row.type}  login={iso_time(row.created_at)}  "
            f"last={iso_time(row.last_used_at)}"
        )


@sessions_group.command("revoke")
@click.option("--origin", type=ORIGINS, default=USERS_PERMISSIONS, show_default=True)
@click.option("--user", "user_id", default=None, help="revoke every session of this user")
@click.argument("session_ids", nargs=-1)
def revoke_command(origin: str, user_id: str | None, session_ids: tuple[str, ...]) -> None:
    """Revoke sessions by id, or all of one user's with --user."""
    if not session_ids and user_id is None:
        raise click.UsageError("give session ids or --user")
    _require_sessions(origin)
    done = sessions.revoke(origin, list(session_ids), OPERATOR) if session_ids else []
    if user_id is not None:
        done += sessions.revoke_user_sessions(origin, user_id, OPERATOR)
    click.echo(f"Revoked {len(done)} session(s).")


@strapi_cli.command("purge")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100000))
def purge_command(batch_size: int) -> None:
    """Delete expired and long-revoked session rows, in batches."""
    removed = sessions.purge_expired(batch_size=batch_size)
    click.echo(f"Purged {removed} session row(s).")
