"""Languages monitor speaks to staff and customers."""

from __future__ import annotations

import enum


class Language(enum.StrEnum):
    EN = "en"
    ZH = "zh"
