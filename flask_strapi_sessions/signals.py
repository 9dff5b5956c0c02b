"""Blinker signals sent by the extension.

Every signal is sent with the Flask app as sender (``current_app._get_current_object()``)
and keyword arguments:

``user_logged_in``
    ``origin``, ``user_id``, ``session_id``, ``device_id`` — after a successful login,
    registration or password change that opened a session.
``login_failed``
    ``origin``, ``identifier`` — after a rejected login (unknown user or wrong password).
``session_refreshed``
    ``origin``, ``user_id``, ``session_id``, ``grace`` — after a refresh token was rotated
    (``grace`` is true when the answer came from the grace window).
``user_logged_out``
    ``origin``, ``user_id``, ``session_ids`` — after a logout revoked sessions.
``session_revoked``
    ``origin``, ``user_id``, ``session_ids``, ``reason`` — after any revocation; ``reason``
    is ``"logout"``, ``"password-change"``, ``"operator"`` (CLI or Python API),
    ``"reuse-detected"``, ``"user-blocked"`` (a blocked or deleted user tried to refresh)
    or ``"revoked-by-user"`` (the user ended one of their own sessions).
``refresh_token_reused``
    ``origin``, ``user_id``, ``session_id`` — a rotated refresh token was presented again
    outside the grace window; the session has been revoked.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

user_logged_in = _signals.signal("user-logged-in")
login_failed = _signals.signal("login-failed")
session_refreshed = _signals.signal("session-refreshed")
user_logged_out = _signals.signal("user-logged-out")
session_revoked = _signals.signal("session-revoked")
refresh_token_reused = _signals.signal("refresh-token-reused")
