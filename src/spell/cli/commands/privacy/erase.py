"""``spell privacy erase USER [--yes]``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="erase")
@click.argument("user")
@click.option("--yes", is_flag=True, help="Confirm without asking: erasing cannot be undone.")
@json_option
def command(user: str, yes: bool, as_json: bool) -> None:
    """Erase USER (id or email) at their request.

    At once: every key is revoked, queued and running casts are canceled (holds released), the email
    and sign-in subject are removed. After SPELL_PRIVACY_GRACE_DAYS (90) `spell privacy purge` deletes
    their casts' inputs, outputs, logs and artifacts. Ledger postings stay (bookkeeping law) under the
    user id, which no longer leads to the person; `spell ledger verify` and `spell audit verify` still
    hold. Without --yes it asks first; refused with ERASURE_NOT_CONFIRMED when not confirmed.

    \b
    Example:
      spell privacy erase alice@example.com --yes --json
    """
    from spell.cli.commands.admin._platform import open_platform

    confirmed = yes or (not as_json and click.confirm(f"Erase {user}? This cannot be undone", default=False))
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.privacy.user(uow, user)
        erased = platform.privacy.erase(uow, row.id, actor_id=None, confirmed=confirmed)
    emit(
        erased.model_dump(mode="json"),
        as_json=as_json,
        human=(
            f"erased {erased.user_id}: {erased.keys_revoked} keys revoked, {erased.casts_canceled} casts"
            f" canceled; purged after {erased.purge_after}"
        ),
    )
