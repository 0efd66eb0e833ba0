"""Command line of surveys: ``flask --app wsgi surveys <command>``."""

from __future__ import annotations

import click

group = click.Group("surveys", help="Surveys.")
