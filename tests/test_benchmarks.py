"""The measurement harness: one entry point, every command and study reachable, the old script
paths of the maintained benchmarks still runnable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from benchmarks.__main__ import COMMANDS, STUDIES, main  # noqa: E402

EVERY = [[name] for name in COMMANDS] + [["studies", name] for name in STUDIES]


@pytest.mark.parametrize("command", EVERY, ids=" ".join)
def test_every_command_and_study_answers_help_without_running(command, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m benchmarks"])
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m benchmarks {' '.join(command)} ")


def test_the_overview_names_every_command_and_study_and_where_it_writes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, about) in {**COMMANDS, **STUDIES}.items():
        assert f"  {name} " in out and "docs/" in about


def test_an_unknown_command_or_study_names_the_choices(capsys):
    assert main(["studies", "chunk-vectors"]) == 2
    assert "choose one of fusion, abstention" in capsys.readouterr().err
    assert main(["multihop"]) == 2
    assert "choose one of retrieval, answers" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["retrieval.py", "answers.py"])
def test_the_maintained_scripts_still_run_by_path(script):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "--sets" in run.stdout and "--profiles" in run.stdout
