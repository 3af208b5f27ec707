"""Docs are part of the code: the generated tables match what generates them, the README's commands,
flags and JSON fields exist, and every link and docs path named in the repository resolves."""

import importlib.util
import re
from pathlib import Path

from conftest import ROOT

README = ROOT / "README.md"
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"\bdocs/[\w./-]*\w\.(?:md|json|png)\b")


def _update_docs():
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_settings_tables_are_generated_from_settings():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "`ASSISTANT_DATA_DIR`" in text
    assert _update_docs().render_settings(text) == text, "run: python scripts/update_docs.py"


def test_the_readme_results_table_is_generated_from_the_retrieval_run():
    text = _readme()
    assert _update_docs().render_results(text) == text, "run: python scripts/update_docs.py"
    table = text.split("<!-- results-table:start -->")[1].split("<!-- results-table:end -->")[0]
    assert "| dense | BM25 | **default** |" in table  # the floors beside what ships
    assert len(re.findall(r"^\| .+\(\d[\d,]*\) \|", table, re.M)) >= 2  # one row a question set


def test_the_readme_is_a_page_long_with_its_screenshot():
    text = _readme()
    assert len(text.splitlines()) <= 160
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert images and all((ROOT / image).is_file() for image in images)


def test_ci_runs_the_readme_test_command():
    readme = _readme()
    assert re.search(r"^make test\b", readme, re.M) and re.search(r"^make chat\b", readme, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_cli_commands_and_their_flags_exist():
    from assistant.apps.cli import main

    lines = re.findall(r"^assistant (\w+)(.*)$", _readme(), re.M)
    assert {name for name, _ in lines} >= {"ingest", "ask", "search", "serve", "eval"}
    for name, rest in lines:
        assert name in main.commands, name
        command = main.commands[name]
        flags = {opt for param in command.params for opt in (*param.opts, *getattr(param, "secondary_opts", []))}
        for sub in getattr(command, "commands", {}).values():
            flags |= {opt for param in sub.params for opt in (*param.opts, *getattr(param, "secondary_opts", []))}
        written = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", rest.split("#")[0]))
        assert written <= flags, f"assistant {name}: {sorted(written - flags)} not options of the command"


def test_readme_names_every_field_of_ask_json():
    from assistant.models import Answer, Citation

    paragraph = _readme().split("`ask --json` prints", 1)[1].split("\n\n", 1)[0]
    missing = [f for f in Answer.model_fields if f"`{f}`" not in paragraph]
    missing += [f for f in Citation.model_fields if not re.search(rf"\b{f}\b", paragraph)]
    assert not missing, f"README's ask --json list lacks {missing}"


def test_relative_links_in_the_docs_resolve():
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def _written_by_benchmarks() -> set[str]:
    """The pages benchmark scripts write by default (ROOT / "docs" / ... / "NAME"): named before a first run."""
    written = set()
    for script in (ROOT / "benchmarks").rglob("*.py"):
        for parts in re.findall(r'ROOT\s*/\s*"docs"((?:\s*/\s*"[\w.-]+")+)', script.read_text(encoding="utf-8")):
            path = "docs/" + "/".join(re.findall(r'"([\w.-]+)"', parts))
            written |= {path, str(Path(path).with_suffix(".json")), str(Path(path).with_suffix(".md"))}
    return written


def test_docs_paths_named_in_docs_benchmarks_scripts_and_tests_exist():
    files = [README, *(ROOT / "docs").rglob("*.md"), *(ROOT / "benchmarks").rglob("*.py"),
             *(ROOT / "scripts").glob("*"), *(ROOT / "tests").rglob("*.py")]
    pending = _written_by_benchmarks()
    missing = sorted({f"{path.relative_to(ROOT)}: {named}" for path in files if path.is_file()
                      for named in DOCS_PATH.findall(path.read_text(encoding="utf-8"))
                      if not (ROOT / named).exists() and not (path.parent.name in ("benchmarks", "studies")
                                                                and named in pending)})
    assert not missing, missing
