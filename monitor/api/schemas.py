"""Schemas shared by every API: problem details, pages, and common field types."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)

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


# Unknown fields are refused, strings are trimmed. python-re: patterns mean what Python's re
# (and so the API's clients' tools) take them to.
_STRICT_INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True, regex_engine="python-re")


class Input(BaseModel):
    """Base of request bodies."""

    model_config = _STRICT_INPUT


class Query(BaseModel):
    """Base of query strings."""

    model_config = _STRICT_INPUT


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(Query):
    page: int = Field(default=1, ge=1, le=100_000, description="1-based page number.")
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
_MONEY = re.compile(r"^[0-9]{1,16}(\.[0-9]{1,2})?$")


def _money(value: Any) -> Decimal:
    # Amounts travel as strings: a JSON number would pass through a float somewhere.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY.fullmatch(value):
        raise ValueError('an amount as a string with at most two decimals, e.g. "1200.50"')
    return Decimal(value)


NonNegativeMoney = Annotated[
    Decimal,
    PlainValidator(_money),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MONEY.pattern,
            "description": 'Amount to the cent, as a string: "1200.50".',
        }
    ),
]


def _integral(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer; strict parsing would not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: Largest id a 32-bit INTEGER column holds; larger ids cannot exist.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]


def integer(minimum: int, maximum: int) -> Any:
    """An integer type within bounds that also takes JSON's ``3.0``."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_integral)]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A field that may be left out but, when given, may not be null.

    Used for PATCH bodies and query filters: leaving a field out means "no change" or "no
    filter", and the schema shows the plain type rather than a nullable one.
    """
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


# Printable text with at least one visible character: PostgreSQL refuses NUL bytes, and a name
# made of spaces is no name. (Lone surrogates never get this far: the JSON parser refuses them.)
_PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def text(max_length: int, **constraints: Any) -> Any:
    """Constraints of a required free-text field of up to ``max_length`` characters."""
    return Field(min_length=1, max_length=max_length, pattern=_PRINTABLE, **constraints)


def omittable_text(max_length: int, **constraints: Any) -> Any:
    return omittable(min_length=1, max_length=max_length, pattern=_PRINTABLE, **constraints)


#: A plain address: what mail servers accept in practice, no quoted or IP-literal forms.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[A-Za-z0-9._%+\-]{{1,64}}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}$"
Email = Annotated[
    str,
    Field(max_length=254, pattern=EMAIL_PATTERN, description="Email address (stored lower-case)."),
    AfterValidator(str.lower),
]
