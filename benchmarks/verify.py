"""Token verification alone: our ``verify_jwt`` against a plain PyJWT decode.

Both verify the same HS256 access token with the same secret; PyJWT is called the way
an application would (``algorithms=["HS256"]`` and the audience). All the work runs in
this thread, so the CPU-clock ratio is the one to trust on a busy machine.
"""

from __future__ import annotations

import time

import jwt

from benchmarks.harness import Result, interleave
from flask_strapi_sessions import tokens

SECRET = "benchmark-secret-0123456789abcdefghijklmnop"
AUDIENCE = "users-permissions"


def measure(rounds: int, batch_seconds: float) -> Result:
    now = int(time.time())
    token = tokens.sign_access(
        SECRET,
        user_id="42",
        session_id="0123456789abcdef0123456789abcdef",
        audience=AUDIENCE,
        now=now,
        expires_at=now + 3600,
    )

    def ours() -> object:
        return tokens.verify_jwt(token, SECRET, kind="access", audience=AUDIENCE, now=now)

    def pyjwt() -> object:
        return jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)

    assert ours().session_id == pyjwt()["sessionId"]  # type: ignore[attr-defined]
    return interleave(
        {"verify_jwt": ours, "jwt.decode": pyjwt},
        rounds=rounds,
        batch_seconds=batch_seconds,
        warmup=2000,
    )


def run(rounds: int, batch_seconds: float) -> list[str]:
    result = measure(rounds, batch_seconds)
    lines = [
        "### Access-token verification alone",
        "",
        "| verifier | µs/token (wall) | µs/token (CPU) | noise |",
        "|---|---:|---:|---:|",
    ]
    for name in result.rates:
        lines.append(
            f"| {name} | {1e6 / result.rate(name):.2f} | {1e6 / result.rate(name, cpu=True):.2f}"
            f" | ±{result.spread(name) * 100:.0f}% |"
        )
    wall = result.ratio("verify_jwt", "jwt.decode")
    cpu = result.ratio("verify_jwt", "jwt.decode", cpu=True)
    lines += ["", f"verify_jwt / jwt.decode throughput: {wall:.2f}x (wall), {cpu:.2f}x (CPU)"]
    print("\n".join(lines), "\n", flush=True)
    return [*lines, ""]
