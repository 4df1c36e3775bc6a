from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from spell.config.home import SpellHome
from spell.errors import SpellError
from spell.kit.time import utcnow
from spell.local import CastOptions, LocalCast, LocalContext, Retention, RuntimeChoice, cast_local
from tests.cli.run_cli import run_cli
from tests.local.harness import host_spell, use_home

TOKEN = "tok-PLANTED-connector-8842"
INPUT_SECRET = "pw-PLANTED-input-7731"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SpellHome:
    return use_home(tmp_path, monkeypatch)


def _ctx(home: SpellHome, environ: dict[str, str] | None = None) -> LocalContext:
    return LocalContext(home=home, environ=environ or {}, input_max_bytes=65536, now=utcnow())


def _cast(home: SpellHome, options: CastOptions, environ: dict[str, str] | None = None) -> LocalCast:
    return cast_local(options, _ctx(home, environ), choice=RuntimeChoice(), retention=Retention())


def test_hundred_concurrent_casts_get_hundred_distinct_logs_with_their_own_output(
    tmp_path: Path, home: SpellHome
) -> None:
    spell = host_spell(tmp_path, "count", '#!/bin/sh\ncat "$INPUT_JSON"\n')

    def one(n: int) -> LocalCast:
        return _cast(home, CastOptions(spell, params=(f"n={n}",)))

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(100)))
    assert [
        (r.message, r.record["steps"][0]["message"], r.record["steps"][0]["stderr_head"])
        for r in results
        if not r.outcome.is_success
    ] == []
    assert len({r.execution_id for r in results}) == 100
    files = sorted(home.logs.iterdir())
    assert len(files) == 100
    seen = set()
    for file in files:
        record = json.loads(file.read_text())
        assert record["execution_id"] == file.stem
        seen.add(json.loads(record["outputs"]["step.main.stdout"])["n"])
    assert seen == set(range(100))


def test_planted_secrets_never_appear_in_logs_outputs_or_errors(
    tmp_path: Path, home: SpellHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (
        "#!/bin/sh\n"
        'cat "$INPUT_JSON"\n'
        'echo "token=$CONNECTOR_VAULT_TOKEN"\n'
        'echo "auth: Bearer $CONNECTOR_VAULT_TOKEN" >&2\n'
        "exit 3\n"
    )
    spell = host_spell(tmp_path, "leaky", script, permissions=[{"connector": "vault", "scopes": []}])
    monkeypatch.setenv("CONNECTOR_VAULT_TOKEN", TOKEN)
    texts = []
    # a failing cast (error path), a succeeding dry run and a refusal carrying the input
    failed = run_cli("cast", spell, "-p", f"password={INPUT_SECRET}", "-p", f"note={INPUT_SECRET}", "--json")
    texts += [failed.stdout, failed.stderr]
    assert failed.error()["code"] == "RUNTIME_FAILED"
    human = run_cli("cast", spell, "-p", f"password={INPUT_SECRET}", "--verbose")
    texts += [human.stdout, human.stderr]
    execution_id = failed.error()["details"]["execution_id"]
    for ref in ("step.main.stdout",):
        shown = run_cli("get-output", execution_id, ref)
        texts += [shown.stdout, shown.stderr]
    texts += [run_cli("log", execution_id).stdout, run_cli("log", execution_id, "--json").stdout]
    texts += [p.read_text() for p in home.logs.iterdir()]
    assert texts
    assert all(TOKEN not in t and INPUT_SECRET not in t for t in texts)
    record = json.loads(run_cli("log", execution_id, "--json").stdout)
    assert record["input"]["password"] == "[REDACTED]"
    assert "[REDACTED]" in record["steps"][0]["stderr_head"]


def test_secret_in_a_refusal_message_is_redacted(tmp_path: Path, home: SpellHome) -> None:
    schema = json.dumps(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"token": {"type": "integer"}},
        }
    )
    spell = host_spell(tmp_path, "typed", "#!/bin/sh\n", schema=schema)
    with pytest.raises(SpellError) as info:
        _cast(home, CastOptions(spell, params=(f"token={INPUT_SECRET}",)))
    assert info.value.code == "VALIDATION_ERROR"
    assert INPUT_SECRET not in json.dumps(info.value.to_dict())
    assert all(INPUT_SECRET not in p.read_text() for p in home.logs.iterdir())


def test_retention_runs_after_each_cast(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "kept", "#!/bin/sh\necho x\n")
    for _ in range(4):
        cast_local(CastOptions(spell), _ctx(home), choice=RuntimeChoice(), retention=Retention(max_files=2))
    assert len(list(home.logs.iterdir())) == 2


def test_temporary_input_files_are_deleted(tmp_path: Path, home: SpellHome) -> None:
    spell = host_spell(tmp_path, "where", '#!/bin/sh\necho "$INPUT_JSON"\n')
    result = _cast(home, CastOptions(spell, params=("a=1",)))
    assert not Path(result.outputs["step.main.stdout"].strip()).exists()


@pytest.mark.slow
def test_hundred_concurrent_spell_cast_processes_write_hundred_distinct_logs(
    tmp_path: Path, home: SpellHome
) -> None:
    spell = host_spell(tmp_path, "proc", '#!/bin/sh\ncat "$INPUT_JSON"\n')
    spell_bin = Path(sys.executable).parent / "spell"
    # byte-code caches on (as for users): otherwise each of the 100 processes recompiles every module
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
        "SPELL_HOME": str(home.root)
    }
    procs = [
        subprocess.Popen(
            [str(spell_bin), "cast", spell, "-p", f"n={n}", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(100)
    ]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [p.returncode for p in procs] == [0] * 100, outputs[0][1]
    ids = {json.loads(out)["execution_id"] for out, _ in outputs}
    assert len(ids) == 100
    files = list(home.logs.iterdir())
    assert {f.stem for f in files} == ids
    seen = {json.loads(json.loads(f.read_text())["outputs"]["step.main.stdout"])["n"] for f in files}
    assert seen == set(range(100))


def test_progress_lines_are_redacted(tmp_path: Path, home: SpellHome) -> None:
    home.policy_file.write_text('{"version": "v1", "default": "allow", "network": {"allow_loopback": true}}')
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x?key={{{{ENV.CONNECTOR_API_TOKEN}}}}"
        spell = host_spell(
            tmp_path,
            "web",
            "",
            steps=[{"uses": "http", "name": "call", "run": "steps/call.json"}],
            files={"steps/call.json": json.dumps({"method": "GET", "url": url})},
            permissions=[{"connector": "api", "scopes": []}],
        )
        lines: list[str] = []
        environ = {"CONNECTOR_API_TOKEN": TOKEN}
        result = cast_local(
            CastOptions(spell),
            _ctx(home, environ),
            choice=RuntimeChoice(),
            retention=Retention(),
            progress=lambda event, step, detail: lines.append(f"{event} {step} {detail}"),
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert result.outcome.is_success, result.message
    assert any("[REDACTED]" in line for line in lines)
    assert all(TOKEN not in line for line in lines)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        return
