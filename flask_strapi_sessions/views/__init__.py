"""The HTTP API: one blueprint per origin, built from that origin's settings."""
