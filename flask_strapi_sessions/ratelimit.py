"""Rate limits on the auth routes, on the ``limits`` library.

The store is in-process by default (``memory://``); give ``RATELIMIT_STORAGE_URI`` (the
Flask-Limiter key), e.g. ``redis://127.0.0.1:6379/0``, so several workers share counts.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .config import RateLimitSettings
from .errors import RateLimitError, ServiceUnavailableError

logger = logging.getLogger("flask_strapi_sessions")


class RateLimiter:
    """Fixed-window counters keyed by route, client IP and (admin) e-mail."""

    def __init__(self, storage_uri: str, namespace: str = "fss"):
        self.storage = storage_from_string(storage_uri)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.namespace = namespace

    def hit(self, rule: RateLimitSettings, *keys: str) -> dict[str, str]:
        """Count one request; return the ``X-RateLimit-*`` headers, or raise RateLimitError."""
        item = RateLimitItemPerSecond(rule.limit, rule.window, namespace=self.namespace)
        try:
            allowed = self.strategy.hit(item, *keys)
            reset, remaining = self.strategy.get_window_stats(item, *keys)
        except Exception as exc:  # the store is down: fail closed, say why
            logger.error("rate-limit store unavailable: %s", exc)
            raise ServiceUnavailableError() from None
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, int(reset - time.time()) + 1))
            raise RateLimitError(headers=headers)
        return headers
