"""``flask --app wsgi receivables import invoices|payments FILE [--partial]``.

The file format, the column mapping and the two modes are described in :mod:`receivables.imports`.
Exit codes: 0 every row recorded (or recorded before); 1 nothing imported (unreadable file, or
an all-or-nothing import with errors, all listed); 3 partial import with rows that failed (the
good rows are kept, the failed ones listed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli import cli_session
from receivables import imports
from receivables.cli import group

#: Exit code of a partial import in which some rows failed.
PARTIAL_FAILURE = 3

import_group = click.Group(
    "import",
    help="Import invoices or payments from a CSV or XLSX file exported by an ERP system.",
)
group.add_command(import_group)


def _run(kind: imports.ImportKind, path: Path, partial: bool) -> None:
    with cli_session() as session:
        table = imports.read_table(path.name, path.read_bytes())
        with click.progressbar(
            length=len(table.rows),
            label=f"Importing {kind.value}",
            file=sys.stderr,
        ) as bar:
            result = imports.import_table(session, kind, table, partial=partial, on_row=bar.update)
        for line in imports.iter_error_lines(result):
            click.echo(line, err=True)
        if not result.committed:
            raise click.ClickException(result.message)
    click.echo(f"{path.name}: {result.rows} row(s): {result.message}")
    if result.failed:
        raise click.exceptions.Exit(PARTIAL_FAILURE)


_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_PARTIAL = click.option(
    "--partial",
    is_flag=True,
    help="Keep the good rows and report the bad ones (default: all-or-nothing).",
)


def _add_command(kind: imports.ImportKind) -> None:
    @import_group.command(
        kind.value,
        help=f"Import {kind.value} from FILE (.csv or .xlsx); see the column mapping in the API "
        "reference or `receivables.imports`.",
    )
    @click.argument("file", type=_FILE)
    @_PARTIAL
    def command(file: Path, partial: bool) -> None:
        _run(kind, file, partial)


for _kind in imports.ImportKind:
    _add_command(_kind)
