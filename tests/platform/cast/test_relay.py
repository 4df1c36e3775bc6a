"""Cancels relayed to the server process that runs the cast (``spell serve --processes N``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from spell.platform.cast.relay import CancelRelay

SEND = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from spell.platform.cast.relay import CancelRelay
    relay = CancelRelay(Path(sys.argv[1]), lambda cast_id: False)
    asked = relay.send(sys.argv[2])
    relay.close()
    print(asked)
    """
)


class _Inbox:
    def __init__(self) -> None:
        self.got: list[str] = []
        self.arrived = threading.Event()

    def __call__(self, cast_id: str) -> bool:
        self.got.append(cast_id)
        self.arrived.set()
        return True


def test_a_cancel_sent_from_another_process_reaches_this_one(tmp_path: Path) -> None:
    inbox = _Inbox()
    relay = CancelRelay(tmp_path / "run", inbox)
    try:
        sent = subprocess.run(
            [sys.executable, "-c", SEND, str(tmp_path / "run"), "cst_123"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.stdout.strip() == "1"  # one other process: us
        assert inbox.arrived.wait(10)
        assert inbox.got == ["cst_123"]
    finally:
        relay.close()
    assert not (tmp_path / "run" / "cancel" / str(os.getpid())).exists()  # left the directory


def test_a_process_that_is_gone_is_forgotten_and_not_asked_again(tmp_path: Path) -> None:
    inbox = _Inbox()
    relay = CancelRelay(tmp_path / "run", inbox)
    try:
        gone = tmp_path / "run" / "cancel" / "999999999"
        gone.touch()  # a process that died without leaving
        assert relay.send("cst_1") == 0
        assert not gone.exists()
        assert inbox.got == []  # a process never relays to itself
    finally:
        relay.close()


def test_data_dirs_do_not_hear_each_other(tmp_path: Path) -> None:
    first, second = _Inbox(), _Inbox()
    one = CancelRelay(tmp_path / "a" / "run", first)
    two = CancelRelay(tmp_path / "b" / "run", second)
    try:
        assert one.send("cst_a") == 0
        assert not second.arrived.wait(0.2)
    finally:
        one.close()
        two.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to send as another user")
def test_a_cancel_from_another_user_is_ignored(tmp_path: Path) -> None:
    inbox = _Inbox()
    relay = CancelRelay(tmp_path / "run", inbox)
    (tmp_path / "run" / "cancel").chmod(0o755)
    try:
        stranger = textwrap.dedent(
            f"""
            import os, socket
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
                out.sendto(b"cst_evil", {relay.address_of(os.getpid())!r})
            """
        )
        subprocess.run([sys.executable, "-c", stranger], check=True, timeout=60)
        assert _probe(relay, inbox).wait(10)
        assert inbox.got == ["cst_probe"]  # the stranger's cancel never arrived; ours did
    finally:
        relay.close()


def _probe(relay: CancelRelay, inbox: _Inbox) -> threading.Event:
    """Send one cancel as ourselves: once it arrived, everything sent before it was handled."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
        out.sendto(b"cst_probe", relay.address_of(os.getpid()))
    return inbox.arrived
