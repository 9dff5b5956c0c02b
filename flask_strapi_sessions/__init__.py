"""Strapi v5 session management for Flask: rotating refresh tokens, per-device sessions,
idle and absolute lifespans, HttpOnly refresh cookies — for an admin origin and a
content-API origin."""

from __future__ import annotations

from .config import ADMIN, USERS_PERMISSIONS, ConfigError
from .extension import StrapiSessions
from .guard import admin_required, authenticate, current_session, current_user, login_required
from .models import AdminUser, StrapiSession, UpUser
from .users import AdminUserStore, ContentUserStore, PasswordHasher, UserStore

__version__ = "0.1.0"

__all__ = [
    "ADMIN",
    "USERS_PERMISSIONS",
    "AdminUser",
    "AdminUserStore",
    "ConfigError",
    "ContentUserStore",
    "PasswordHasher",
    "StrapiSession",
    "StrapiSessions",
    "UpUser",
    "UserStore",
    "admin_required",
    "authenticate",
    "current_session",
    "current_user",
    "login_required",
]
