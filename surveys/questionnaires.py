"""Questionnaires: the shipped definitions (``surveys/data/<role>.toml``), their checks, and
loading them into the database as versions.

A definition is ``{"role", "title": {lang: text}, "intro": {lang: text}, "questions": [...]}``;
each question has ``id``, ``kind``, ``required``, ``text`` per language, ``options`` (single
choice: ``[{"id", "en", "zh"}]``) and an optional complaint ``category``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.audit.services import record_event
from surveys.models import QuestionKind, Questionnaire, RespondentRole
from surveys.texts import LANGUAGES

#: Inclusive score range of each scored kind.
SCALES: dict[str, tuple[int, int]] = {
    QuestionKind.NPS: (0, 10),
    QuestionKind.CSAT: (1, 5),
    QuestionKind.CES: (1, 7),
}
#: Longest free-text answer, in characters.
MAX_TEXT = 2000
#: Complaint categories a low score may open a follow-up in.
CATEGORIES = ("product_quality", "delivery", "service", "billing", "contract", "other")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class DefinitionError(ValueError):
    """A questionnaire definition that cannot be used; the message says where."""


@dataclass(frozen=True)
class Question:
    key: str
    kind: QuestionKind
    required: bool
    text: dict[str, str]
    options: tuple[dict[str, str], ...] = ()
    category: str = "other"

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    def option_ids(self) -> list[str]:
        return [o["id"] for o in self.options]


def _texts(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        raise DefinitionError(f"{where}: a text in each of {', '.join(LANGUAGES)}")
    if not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise DefinitionError(f"{where}: texts may not be empty")
    return value


def check_definition(definition: dict[str, Any]) -> None:
    """Raise :class:`DefinitionError` unless ``definition`` is a usable questionnaire."""
    if definition.get("role") not in set(RespondentRole):
        raise DefinitionError(f"role: one of {', '.join(RespondentRole)}")
    _texts("title", definition.get("title"))
    _texts("intro", definition.get("intro"))
    questions = definition.get("questions")
    if not isinstance(questions, list) or not questions:
        raise DefinitionError("questions: at least one")
    seen: set[str] = set()
    for n, q in enumerate(questions, 1):
        where = f"question {n}"
        key = q.get("id")
        if not isinstance(key, str) or not _ID.fullmatch(key):
            raise DefinitionError(f"{where}: id of lower-case letters, digits and _")
        if key in seen:
            raise DefinitionError(f"{where}: id {key!r} is used twice")
        seen.add(key)
        if q.get("kind") not in set(QuestionKind):
            raise DefinitionError(f"{where} ({key}): kind one of {', '.join(QuestionKind)}")
        if not isinstance(q.get("required"), bool):
            raise DefinitionError(f"{where} ({key}): required = true or false")
        _texts(f"{where} ({key}) text", q.get("text"))
        if q.get("category", "other") not in CATEGORIES:
            raise DefinitionError(f"{where} ({key}): category one of {', '.join(CATEGORIES)}")
        options = q.get("options", [])
        if q["kind"] == QuestionKind.SINGLE_CHOICE:
            if len(options) < 2:
                raise DefinitionError(f"{where} ({key}): at least two options")
            ids = [o.get("id") for o in options]
            if len(set(ids)) != len(ids) or not all(
                isinstance(i, str) and _ID.match(i) for i in ids
            ):
                raise DefinitionError(f"{where} ({key}): options need distinct ids")
            for o in options:
                _texts(f"{where} ({key}) option {o['id']}", {k: o.get(k) for k in LANGUAGES})
        elif options:
            raise DefinitionError(f"{where} ({key}): only single_choice questions have options")
    nps = [q for q in questions if q["kind"] == QuestionKind.NPS]
    if len(nps) > 1:
        raise DefinitionError("at most one NPS question per questionnaire")


def questions(definition: dict[str, Any]) -> list[Question]:
    return [
        Question(
            key=q["id"],
            kind=QuestionKind(q["kind"]),
            required=q["required"],
            text=q["text"],
            options=tuple(q.get("options", ())),
            category=q.get("category", "other"),
        )
        for q in definition["questions"]
    ]


def shipped_definitions() -> dict[str, dict[str, Any]]:
    """The definitions shipped in ``surveys/data``, by role, checked."""
    folder = resources.files("surveys.data")
    definitions = {}
    for role in RespondentRole:
        definition = tomllib.loads(folder.joinpath(f"{role}.toml").read_text("utf-8"))
        try:
            check_definition(definition)
        except DefinitionError as exc:
            raise DefinitionError(f"surveys/data/{role}.toml: {exc}") from None
        if definition["role"] != role:
            raise DefinitionError(f"surveys/data/{role}.toml: role must be {role!r}")
        definitions[role.value] = definition
    return definitions


def _hash(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def latest(session: Session, role: str) -> Questionnaire | None:
    return session.scalar(
        select(Questionnaire)
        .where(Questionnaire.role == role)
        .order_by(Questionnaire.version.desc())
        .limit(1)
    )


def store_version(session: Session, definition: dict[str, Any]) -> tuple[Questionnaire, bool]:
    """Store ``definition`` as its role's next version unless it equals the latest one;
    returns the current version and whether it is new. Safe when two processes load at once."""
    check_definition(definition)
    role = definition["role"]
    digest = _hash(definition)
    current = latest(session, role)
    if current is not None and current.content_hash == digest:
        return current, False
    version = (current.version if current is not None else 0) + 1
    questionnaire = Questionnaire(
        role=role, version=version, content_hash=digest, definition=definition
    )
    try:
        with session.begin_nested():
            session.add(questionnaire)
    except IntegrityError:
        # Another process stored this version first; it loaded the same data.
        found = latest(session, role)
        assert found is not None
        return found, False
    record_event(session, "survey_questionnaire", f"{role}-{version}", "create", {"hash": digest})
    return questionnaire, True


def load_shipped(session: Session) -> dict[str, tuple[Questionnaire, bool]]:
    """Bring the stored questionnaires up to the shipped data (a new version per changed role)."""
    return {role: store_version(session, d) for role, d in shipped_definitions().items()}


def current(session: Session, role: str) -> Questionnaire:
    """The role's latest questionnaire; the shipped one is loaded first if none is stored."""
    found = latest(session, role)
    if found is None:
        found = load_shipped(session)[role][0]
    return found
