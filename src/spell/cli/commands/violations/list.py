"""``spell violations list``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]

_KINDS = ("egress", "limit", "signature", "supply", "rate_limit_storm")


@click.command(name="list")
@click.option("--subject-type", type=click.Choice(["spell", "user"]), help="Only spells, or only users.")
@click.option("--subject", "subject_id", help="Only this spell id or user id.")
@click.option("--kind", type=click.Choice(_KINDS), help="Only violations of this kind.")
@click.option("--since", help="Only violations at or after this RFC 3339 time.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="Page size.")
@click.option("--cursor", help="The next_cursor a previous page printed.")
@json_option
def command(
    subject_type: str | None,
    subject_id: str | None,
    kind: str | None,
    since: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List policy violations, newest first; a row marked SUSPENDED is the one that suspended its subject.

    \b
    Example:
      spell violations list --subject acme/hello --since 2026-01-01T00:00:00Z --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.errors import InvalidInput
    from spell.kit.time import parse_rfc3339
    from spell.platform.abuse.schemas import ViolationFilter

    try:
        after = parse_rfc3339(since) if since is not None else None
    except ValueError:
        raise InvalidInput("--since must be an RFC 3339 time", details={"since": since}) from None
    where = ViolationFilter.model_validate(
        {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "kind": kind,
            "since": after,
            "cursor": cursor,
            "limit": limit,
        }
    )
    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        page = platform.abuse.list(uow, where)
    data = page.model_dump(mode="json")
    lines = [
        f"{v.created_at}  {v.subject_type} {v.subject_id}  {v.kind}"
        f"{'  SUSPENDED' if v.suspended else ''}{'  (cleared)' if v.cleared_at else ''}"
        for v in page.items
    ]
    if page.next_cursor:
        lines.append(f"more: --cursor '{page.next_cursor}'")
    emit(data, as_json=as_json, human="\n".join(lines) or "no violations")
