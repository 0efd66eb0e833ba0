"""The two documented commands: what ``make run`` and ``make test`` would do (dry runs only).

``make run`` itself starts a server and is tried by hand; here only its plan is read, with
``make -n``, together with the README that promises it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

from monitor.config import Config

ROOT = Path(__file__).resolve().parent.parent


def dry_run(*args: str) -> list[str]:
    make = shutil.which("make")
    assert make, "make not found: install the Debian package make"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        [make, "--no-print-directory", "-n", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def position(lines: list[str], fragment: str) -> int:
    found = [n for n, line in enumerate(lines) if fragment in line]
    assert found, f"{fragment!r} not in the plan:\n" + "\n".join(lines)
    return found[0]


def test_make_run_migrates_then_admin_then_demo_then_serves_on_port():
    plan = dry_run("run", "PORT=5055")
    steps = [
        "flask --app wsgi db upgrade",
        "flask --app wsgi users ensure-admin",
        "flask --app wsgi demo load --if-empty",
        "flask --app wsgi run --host 127.0.0.1 --port 5055",
    ]
    assert [position(plan, step) for step in steps] == sorted(position(plan, s) for s in steps)


def test_make_test_runs_ruff_and_pytest_without_hiding_its_exit_code():
    plan = dry_run("test")
    assert position(plan, "ruff check") < position(plan, "bin/pytest")
    [pytest_line] = [line for line in plan if "bin/pytest" in line]
    # `|| true` or a leading `-` would turn failing tests (or none collected) into success.
    assert "||" not in pytest_line and not pytest_line.startswith("-")
    checks = "\n".join(plan)
    for package in ("redis-server", "postgresql", "chromium", "poppler-utils", "fonts-noto-cjk"):
        assert package in checks


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    settings = {f.name.upper() for f in dataclasses.fields(Config)}
    settings = {"MONITOR_INSTANCE_PATH" if s == "INSTANCE_PATH" else s for s in settings}
    assert documented == settings
