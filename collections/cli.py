"""Command line of receivables: ``flask --app wsgi receivables <command>``."""

from __future__ import annotations

import click

group = click.Group("receivables", help="Receivables.")
