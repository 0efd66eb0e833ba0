"""Command line of complaints: ``flask --app wsgi complaints <command>``."""

from __future__ import annotations

import click

group = click.Group("complaints", help="Complaints.")
