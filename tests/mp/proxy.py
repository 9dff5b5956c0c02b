"""A small TCP proxy between the app and a real database server, which a test can cut.

``Proxy(host, port)`` listens on 127.0.0.1 on an ephemeral port and forwards every
connection to ``host:port`` (one thread per direction). ``cut()`` resets every open
connection and refuses new ones (the server is down); ``blackhole()`` resets open
connections and accepts new ones without ever answering (the server hangs, so clients
wait for their connect timeout); ``restore()`` forwards again. The real server is never
touched.
"""

from __future__ import annotations

import socket
import struct
import threading

FORWARD = "forward"
REFUSE = "refuse"
BLACKHOLE = "blackhole"


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), waking any thread blocked in ``recv`` on it first."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class Proxy:
    """Forward 127.0.0.1:<port> to ``(host, port)``; ``cut`` / ``blackhole`` / ``restore``."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._mode = FORWARD
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- control ------------------------------------------------------------------

    def cut(self) -> None:
        """The server goes away: every open connection is reset, new ones are refused."""
        self._switch(REFUSE)

    def blackhole(self) -> None:
        """The server stops answering: open connections reset, new ones hang."""
        self._switch(BLACKHOLE)

    def restore(self) -> None:
        """The server is back: new connections are forwarded again."""
        self._switch(FORWARD)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self._switch(REFUSE)

    def _switch(self, mode: str) -> None:
        with self._lock:
            self._mode = mode
            doomed, self._open = self._open, set()
        for sock in doomed:
            _reset(sock)

    # -- forwarding ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                mode = self._mode
                self.accepted += 1
                if mode == BLACKHOLE:
                    self._open.add(client)  # held, never read from, reset on the next switch
                    continue
            if mode == REFUSE:
                _reset(client)
                continue
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._mode != FORWARD:  # switched while we were connecting
                _reset(client)
                _reset(upstream)
                return
            self._open.update((client, upstream))
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        # one side ended: end the other too, so both peers see the connection go
        with self._lock:
            for sock in (source, sink):
                if sock in self._open:
                    self._open.discard(sock)
                    _reset(sock)
