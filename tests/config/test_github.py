"""``SPELL_GITHUB_*``: the GitHub App of workflow spells and the tenants bound to its installations."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.github import GitHubInstallation, GitHubSettings
from spell.errors import InvalidInput


def test_without_an_app_workflow_spells_are_off() -> None:
    settings = GitHubSettings.from_env({})
    assert not settings.is_enabled
    assert settings.api_url == "https://api.github.com"


def test_the_app_and_its_bindings_are_read(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text("PEM", encoding="utf-8")
    settings = GitHubSettings.from_env(
        {
            "SPELL_GITHUB_APP_ID": "42",
            "SPELL_GITHUB_PRIVATE_KEY_PATH": str(key),
            "SPELL_GITHUB_INSTALLATIONS": '{"ten_a": {"installation_id": 7, "repos": ["Octo/Builds"]}}',
        }
    )
    assert settings.is_enabled
    assert settings.private_key() == "PEM"
    installation = settings.installations["ten_a"]
    assert installation == GitHubInstallation(7, frozenset({"octo/builds"}))
    assert installation.allows("OCTO/builds")
    assert not installation.allows("octo/other")


def test_an_app_id_without_its_key_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        GitHubSettings.from_env({"SPELL_GITHUB_APP_ID": "42"})
    assert refused.value.code == "VALIDATION_ERROR"


def test_an_unreadable_key_is_refused(tmp_path: Path) -> None:
    settings = GitHubSettings(app_id=1, private_key_path=tmp_path / "missing.pem")
    with pytest.raises(InvalidInput) as refused:
        settings.private_key()
    assert refused.value.code == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"t": 7}',
        '{"t": {"installation_id": 0, "repos": []}}',
        '{"t": {"installation_id": true, "repos": []}}',
        '{"t": {"installation_id": 7, "repos": ["no-slash"]}}',
        '{"t": {"installation_id": 7, "repos": "octo/builds"}}',
        '{"t": {"installation_id": 7, "extra": 1}}',
    ],
)
def test_malformed_bindings_are_refused_by_variable(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        GitHubSettings.from_env({"SPELL_GITHUB_INSTALLATIONS": raw})
    assert refused.value.details["variable"] == "SPELL_GITHUB_INSTALLATIONS"


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "value"),
    [
        ("SPELL_GITHUB_API_URL", "https://ghe.example/api/v3", "api_url", "https://ghe.example/api/v3"),
        ("SPELL_GITHUB_POLL_FIRST_MS", "500", "poll_first_ms", 500),
        ("SPELL_GITHUB_POLL_MAX_MS", "60000", "poll_max_ms", 60_000),
        ("SPELL_GITHUB_MAX_ARTIFACT_MB", "5", "max_artifact_mb", 5),
        ("SPELL_GITHUB_REQUEST_TIMEOUT_MS", "2500", "request_timeout_ms", 2_500),
    ],
)
def test_each_setting_is_read_from_its_variable(
    variable: str, raw: str, attribute: str, value: object
) -> None:
    assert getattr(GitHubSettings.from_env({variable: raw}), attribute) == value


def test_a_non_positive_app_id_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        GitHubSettings.from_env({"SPELL_GITHUB_APP_ID": "0", "SPELL_GITHUB_PRIVATE_KEY_PATH": "/k.pem"})
    assert refused.value.details["variable"] == "SPELL_GITHUB_APP_ID"
