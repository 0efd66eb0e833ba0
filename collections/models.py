"""Tables of receivables."""

from __future__ import annotations
