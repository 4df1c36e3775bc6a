"""The tail that passes a running step's output on in whole lines."""

from __future__ import annotations

from pathlib import Path

from spell.runtimes.host import process
from spell.runtimes.host.process import _Tail


def test_lines_are_passed_on_whole_and_the_rest_at_the_end(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    with (tmp_path / "stdout").open("w+b", buffering=0) as out:
        tail = _Tail(out, "stdout", lambda stream, text: seen.append((stream, text)))
        out.write(b"one\ntw")
        tail.poll()
        out.write(b"o\nthr")  # at the writer's offset, which the tail's reads do not move
        tail.poll()
        tail.poll(final=True)
    assert seen == [("stdout", "one\n"), ("stdout", "two\n"), ("stdout", "thr")]


def test_a_line_longer_than_a_chunk_is_passed_on_in_pieces(tmp_path: Path) -> None:
    seen: list[str] = []
    with (tmp_path / "stdout").open("w+b", buffering=0) as out:
        out.write(b"x" * (process._TAIL_CHUNK + 10))
        tail = _Tail(out, "stdout", lambda _stream, text: seen.append(text))
        tail.poll()
        tail.poll()  # the 10 bytes left have no newline yet: they wait
        assert [len(text) for text in seen] == [process._TAIL_CHUNK]
        tail.poll(final=True)
    assert [len(text) for text in seen] == [process._TAIL_CHUNK, 10]


def test_a_closed_file_passes_nothing_on(tmp_path: Path) -> None:
    seen: list[str] = []
    out = (tmp_path / "stdout").open("w+b")
    out.write(b"late\n")
    out.close()
    tail = _Tail(out, "stderr", lambda _stream, text: seen.append(text))
    tail.poll(final=True)
    assert seen == []
