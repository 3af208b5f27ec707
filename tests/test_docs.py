"""Docs are part of the code: the README's settings table and commands match the code."""

import importlib.util
import re

from conftest import ROOT


def _update_readme():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_settings_table_is_generated_from_settings():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _update_readme().render(text) == text, "run: python scripts/update_readme.py"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make test\b", readme, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_cli_commands_exist():
    from assistant.apps.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^assistant (\w+)", readme, re.M))
    assert named and named <= set(main.commands), named - set(main.commands)
