"""Reference data shipped with monitor."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent

#: Active ISO 4217 currency codes (list one: currencies and funds), from ``iso4217.txt``.
ISO_4217_CODES: frozenset[str] = frozenset(
    line.split()[0]
    for line in (_HERE / "iso4217.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
