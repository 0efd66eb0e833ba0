"""Background and periodic jobs of complaints (plain functions taking ids, safe to run twice)."""

from __future__ import annotations

from monitor.jobs import Periodic

PERIODIC: list[Periodic] = []
