"""Cancels for casts running in another server process of the same data dir.

``POST /v1/casts/{id}/cancel`` may land on any process of ``spell serve --processes N``; the cast may
run in another. The database already says ``canceled`` when the signal is sent, so the signal only has
to stop the sandbox at once: each process listens on a Unix datagram socket and the cancelling process
sends the cast id to every other one. Sockets live in Linux's abstract namespace (no path-length
limit for deep data dirs); the processes are found through one empty file each in ``run/cancel`` and
a message from another user is ignored (the sender's credentials come with each datagram).

Casts running on other machines are reached through ``remote`` (PostgreSQL ``NOTIFY`` on the cancel
channel, heard by each node's ``storage.notify.Listener``). The socket stays for this host: a datagram
arrives in tens of microseconds, a notification in a database round trip or more
(``benchmarks/cancel_relay_bench.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["CancelRelay"]

_log = logging.getLogger(__name__)
_MAX_ID = 200
_STOP = b"\x00stop"
_UCRED = struct.Struct("3i")  # pid, uid, gid


class CancelRelay:
    """This process's inbox for cancels, and the sender to the other processes' inboxes."""

    def __init__(
        self,
        run_dir: Path | None,
        deliver: Callable[[str], bool],
        *,
        remote: Callable[[str], object] | None = None,
    ) -> None:
        """``run_dir`` None: no sibling processes on this host, only ``remote`` (which sends a cancel to
        every other machine)."""
        self._remote = remote
        self._sock: socket.socket | None = None
        if run_dir is None:
            return
        self._dir = run_dir / "cancel"
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._tag = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:20]
        self._deliver = deliver
        self._pid = os.getpid()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.bind(self.address_of(self._pid))
        (self._dir / str(self._pid)).touch(mode=0o600)
        self._thread = threading.Thread(target=self._listen, name="spell-cancel-relay", daemon=True)
        self._thread.start()

    @property
    def local(self) -> bool:
        """True when it relays to the other processes of this data dir (it has an inbox here)."""
        return self._sock is not None

    def address_of(self, pid: int) -> str:
        """The inbox of process ``pid`` of this data dir (an abstract Unix datagram socket)."""
        return f"\0spell-cancel-{self._tag}-{pid}"

    def send(self, cast_id: str) -> int:
        """Ask every other process to stop ``cast_id`` if it runs there; the number of processes of this
        host asked (other machines, when ``remote`` is set, are asked without counting)."""
        asked = 0 if self._sock is None else self._send_here(cast_id)  # the quick path first
        if self._remote is not None:
            try:
                self._remote(cast_id)
            except Exception as exc:  # the database is away: the cast ends by its own time limit instead
                _log.warning("cancel of %s not sent to other machines: %s", cast_id, exc)
        return asked

    def _send_here(self, cast_id: str) -> int:
        payload = cast_id.encode()[:_MAX_ID]
        asked = 0
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
            for entry in self._dir.iterdir():
                if not entry.name.isdigit() or int(entry.name) == self._pid:
                    continue
                try:
                    out.sendto(payload, self.address_of(int(entry.name)))
                    asked += 1
                except (ConnectionRefusedError, FileNotFoundError):  # that process is gone
                    entry.unlink(missing_ok=True)
                except OSError as exc:  # a full inbox: the cast ends by its own time limit instead
                    _log.warning("cancel of %s not relayed to process %s: %s", cast_id, entry.name, exc)
        return asked

    def _listen(self) -> None:
        if self._sock is None:
            return
        space = socket.CMSG_SPACE(_UCRED.size)
        uid = os.getuid()
        while True:
            try:
                data, ancillary, _flags, _addr = self._sock.recvmsg(_MAX_ID, space)
            except OSError:
                return  # closed
            sender = next(
                (
                    _UCRED.unpack(payload[: _UCRED.size])
                    for level, kind, payload in ancillary
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
                ),
                None,
            )
            if sender is None or sender[1] != uid:
                continue
            if data == _STOP and sender[0] == self._pid:
                return
            try:
                self._deliver(data.decode("utf-8", "replace"))
            except Exception:  # one bad cancel must not stop the inbox
                _log.exception("relayed cancel failed")

    def close(self) -> None:
        """Stop listening and leave the directory of running processes."""
        if self._sock is None:
            return
        (self._dir / str(self._pid)).unlink(missing_ok=True)
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
            out.sendto(_STOP, self.address_of(self._pid))
        self._thread.join(timeout=2)
        self._sock.close()
