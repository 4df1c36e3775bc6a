"""The base and field types of the wire schemas: rows read into the shapes the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict

from spell.kit.time import to_rfc3339

__all__ = ["Rfc3339", "Rfc3339OrNone", "RowModel"]


def _text(value: Any) -> Any:
    return to_rfc3339(value) if isinstance(value, datetime) else value


# A time as RFC 3339 text in UTC with milliseconds and ``Z``; a row's datetime becomes that text, so the
# documented type is a string, as the answer is.
Rfc3339 = Annotated[str, BeforeValidator(_text)]
Rfc3339OrNone = Annotated[str | None, BeforeValidator(_text)]


class RowModel(BaseModel):
    """A wire shape whose fields are read by name from a row (or any object with those attributes)."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def from_row(cls, row: object) -> Self:
        """The shape of ``row``."""
        return cls.model_validate(row)
