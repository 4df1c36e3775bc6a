"""A local HTTP endpoint standing in for a caster's webhook receiver: records each POST it answers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Receiver"]


class Receiver:
    """A local HTTP endpoint standing in for the caster's webhook receiver.

    It answers ``status``, or the ``statuses`` in turn and then ``status`` (``statuses=[500, 500]``: a
    receiver failing twice, then up).
    """

    def __init__(self, status: int = 200, *, statuses: Sequence[int] = ()) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        receiver = self
        answers = list(statuses)
        lock = threading.Lock()

        def next_status() -> int:
            with lock:
                return answers.pop(0) if answers else status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(next_status())
                self.end_headers()
                receiver.arrived.set()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
