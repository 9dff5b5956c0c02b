"""Helpers for the multi-process, fault and shared rate-limit tests: a gunicorn server
fixture, its WSGI entry point, a TCP proxy that can cut a database, invariant checks."""
