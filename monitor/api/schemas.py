"""Schemas shared by every API: problem details, pages, and common field types."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from monitor.data import ISO_4217_CODES

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str
    #: Where the field was: ``body``, ``query`` or ``path``.
    in_: str | None = Field(default=None, alias="in")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: ``title`` and ``status`` always; ``errors`` names offending fields."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(Query):
    page: int = Field(default=1, ge=1, le=1_000_000, description="1-based page number.")
    per_page: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")


class Page(Output, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int


def _currency(value: str) -> str:
    if value not in ISO_4217_CODES:
        raise ValueError("not an ISO 4217 currency code")
    return value


_TIMEZONES = frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("not an IANA time zone name (e.g. Asia/Shanghai)")
    return value


# The schemas list the accepted values, so clients (and schemathesis) see exactly what passes.
Currency = Annotated[
    str,
    AfterValidator(_currency),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(ISO_4217_CODES),
            "description": "ISO 4217 code, e.g. CNY, EUR, USD.",
        }
    ),
]
TimeZone = Annotated[
    str,
    AfterValidator(_timezone),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(_TIMEZONES),
            "description": "IANA time zone, e.g. Asia/Shanghai.",
        }
    ),
]
NonNegativeMoney = Annotated[
    Decimal, Field(ge=0, max_digits=18, decimal_places=2, description="Amount, to the cent.")
]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A field that may be left out but, when given, may not be null.

    Used for PATCH bodies and query filters: leaving a field out means "no change" or "no
    filter", and the schema shows the plain type rather than a nullable one.
    """
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


# Printable text with at least one visible character: PostgreSQL refuses NUL bytes, and a name
# made of spaces is no name.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def text(max_length: int, **constraints: Any) -> Any:
    """Constraints of a required free-text field of up to ``max_length`` characters."""
    return Field(min_length=1, max_length=max_length, pattern=_PRINTABLE, **constraints)


def omittable_text(max_length: int, **constraints: Any) -> Any:
    return omittable(min_length=1, max_length=max_length, pattern=_PRINTABLE, **constraints)
