"""Tables of complaints."""

from __future__ import annotations
