"""The CLI's messages (issue 16, item 7): usage errors exit 2 with one clear line, failures exit 1 and
say so first, no library progress bars, chat commands, --version. Real bundled model, real Chroma."""

from importlib.metadata import version

import pytest
from click.testing import CliRunner

import assistant.apps.chat_cli as chat_cli
import assistant.apps.cli as cli
from conftest import CORPUS


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def run(embedder, monkeypatch, runner):
    from assistant import Settings, build_assistant

    # Share the session's loaded model; settings still come from the environment.
    factory = lambda **overrides: build_assistant(Settings(**overrides), embedder=embedder)  # noqa: E731

    def invoke(*args, input=None):
        return runner.invoke(cli.main, list(map(str, args)), input=input, catch_exceptions=False, obj=factory)
    return invoke


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# --- a blank question is a usage error, as the API's 422 -------------------------------------------

@pytest.mark.parametrize("command, text", [("ask", ""), ("ask", "   \t "), ("search", ""), ("search", "  ")])
def test_blank_question_or_query_is_a_usage_error(run, command, text):
    result = run(command, text)
    assert result.exit_code == 2, result.output
    assert error_lines(result) == [error_lines(result)[0]] and "is blank" in result.stderr
    assert f"Usage: assistant {command}" in result.stderr
    assert result.stdout == "", "nothing answered"


def test_question_over_the_length_limit_is_a_usage_error(run, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_QUESTION_CHARS", "20")
    result = run("ask", "What did the expert say about China and Russia?")
    assert result.exit_code == 2, result.output
    assert "over the limit of 20" in result.stderr and "ASSISTANT_MAX_QUESTION_CHARS" in result.stderr


# --- options validated by pydantic: one line naming the option, the value, the accepted forms -------

@pytest.mark.parametrize("command, option", [("search", "--since"), ("ask", "--since"), ("ask", "--until")])
def test_bad_date_option_is_one_clear_line(run, command, option):
    result = run(command, "Beijing", option, "yesterday-ish")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines == [f"Error: {option} 'yesterday-ish' is not a date; use YYYY-MM-DD, ISO 8601 "
                     "(2023-11-27T08:45:59Z), RFC 2822 (Mon, 27 Nov 2023 08:45:59 GMT) or epoch seconds"]
    assert result.stderr.strip() == lines[0], "no pydantic dump"
    assert "pydantic" not in result.output and "validation error" not in result.output


def test_two_bad_dates_give_one_line_each(run):
    result = run("search", "Beijing", "--since", "soon", "--until", "2023-13-45")
    assert result.exit_code == 2
    assert [line.split("'")[0] for line in error_lines(result)] == ["Error: --since ", "Error: --until "]
    assert "'2023-13-45' is not a date" in result.stderr


def test_bad_setting_names_its_environment_variable(run, monkeypatch):
    monkeypatch.setenv("ASSISTANT_RETRIEVAL_K", "abc")
    result = run("search", "Beijing")
    assert result.exit_code == 2
    assert error_lines(result) == ["Error: ASSISTANT_RETRIEVAL_K 'abc': input should be a valid integer, "
                                   "unable to parse string as an integer"]
    assert "pydantic.dev" not in result.output
    config = run("config")
    assert config.exit_code == 2 and "ASSISTANT_RETRIEVAL_K 'abc'" in config.stderr
    assert "Traceback" not in config.output


@pytest.mark.parametrize("old, value, replacement", [
    ("ASSISTANT_CHROMA_MODE", "remote", "ASSISTANT_CHROMA_URL"),
    ("ASSISTANT_LLM_TEMPERATURE", "0.7", "answer.llm_temperature"),
    ("ASSISTANT_UNSUPPORTED_SENTENCES", "flag", "answer.unsupported_sentences"),
])
def test_a_replaced_setting_that_cannot_be_read_in_new_terms_is_refused(run, monkeypatch, old, value, replacement):
    """What an old setting asked for is never dropped silently: where the new settings cannot say it,
    the command stops and names where it lives now."""
    monkeypatch.setenv(old, value)
    result = run("search", "Beijing")
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = error_lines(result)
    assert f"{old}={value!r} is no longer a setting; use" in line or f"{old} is no longer a setting; use" in line
    assert replacement in line


def test_old_settings_are_read_in_new_terms_with_a_warning(monkeypatch, caplog):
    """An old server set-up keeps pointing at its server (never an empty local index); settings that
    change nothing any more are dropped; each with a warning saying what to set instead."""
    from assistant import Settings

    def read(**kwargs):
        caplog.clear()
        settings = Settings(**kwargs)
        return settings, " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")

    monkeypatch.setenv("ASSISTANT_CHROMA_MODE", "server")
    monkeypatch.setenv("ASSISTANT_CHROMA_HOST", "10.0.0.5")
    monkeypatch.setenv("ASSISTANT_CHROMA_PORT", "9000")
    settings, said = read()
    assert settings.chroma_server == ("10.0.0.5", 9000, False)
    assert said.startswith("ASSISTANT_CHROMA_HOST, ASSISTANT_CHROMA_MODE, ASSISTANT_CHROMA_PORT are no longer "
                           "settings: read as ASSISTANT_CHROMA_URL=http://10.0.0.5:9000. Instead: ASSISTANT_CHROMA_URL")
    settings, said = read(chroma_url="http://chroma:8000")  # a URL given as well wins
    assert settings.chroma_server == ("chroma", 8000, False) and "read as ASSISTANT_CHROMA_URL as set" in said
    for name in ("ASSISTANT_CHROMA_HOST", "ASSISTANT_CHROMA_PORT"):
        monkeypatch.delenv(name)
    settings, said = read()
    assert settings.chroma_server == ("localhost", 8000, False) and "http://localhost:8000" in said
    monkeypatch.setenv("ASSISTANT_CHROMA_MODE", "embedded")
    monkeypatch.setenv("ASSISTANT_EMBEDDING_BATCH_SIZE", "64")
    monkeypatch.setenv("ASSISTANT_LLM_TEMPERATURE", "0.0")
    monkeypatch.setenv("ASSISTANT_UNSUPPORTED_SENTENCES", "remove")
    settings, said = read()
    assert settings.chroma_server is None
    assert said.startswith("ASSISTANT_CHROMA_MODE, ASSISTANT_EMBEDDING_BATCH_SIZE, ASSISTANT_LLM_TEMPERATURE, "
                           "ASSISTANT_UNSUPPORTED_SENTENCES are no longer settings: ignored (they change nothing)")
    for name in ("ASSISTANT_CHROMA_MODE", "ASSISTANT_EMBEDDING_BATCH_SIZE", "ASSISTANT_LLM_TEMPERATURE",
                 "ASSISTANT_UNSUPPORTED_SENTENCES"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_LLM_PROVIDER", "local")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL_PATH", "/models/x.gguf")
    settings, said = read()
    assert settings.llm_model == "/models/x.gguf"
    assert said.startswith("ASSISTANT_LLM_MODEL_PATH is no longer a setting: read as ASSISTANT_LLM_MODEL=/models/x.gguf")


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://host:8000", "http://:8000", "http://host:99999",
                                 "http://host:8000/api"])
def test_a_chroma_url_that_is_not_one_is_refused_naming_the_form(run, monkeypatch, url):
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
    result = run("search", "Beijing")
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert f"ASSISTANT_CHROMA_URL={url!r} is not a Chroma server URL; write it as http://HOST:PORT" in line


def test_chroma_url_names_the_server_and_its_default_port():
    from assistant import Settings

    assert Settings().chroma_server is None and Settings(chroma_url=" ").chroma_server is None
    assert tuple(Settings(chroma_url="http://chroma.internal").chroma_server) == ("chroma.internal", 8000, False)
    assert tuple(Settings(chroma_url="https://db.example:443/").chroma_server) == ("db.example", 443, True)
    server = Settings(chroma_url="http://10.0.0.5:9000", collection="news")
    assert server.index_place() == "10.0.0.5_9000_news" and Settings(collection="news").index_place() == "news"


def test_config_lists_the_settings_then_the_advanced_ones(run):
    from assistant.settings import ADVANCED, Settings

    result = run("config")
    assert result.exit_code == 0
    main, _, advanced = result.stdout.partition("Advanced: how an index is built")
    shown = lambda text: {line.split("=")[0] for line in text.splitlines() if line.startswith("ASSISTANT_")}  # noqa: E731
    assert shown(advanced) == {f"ASSISTANT_{name.upper()}" for name in ADVANCED}
    assert shown(main) | shown(advanced) == {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}
    assert len(shown(main)) <= 25 and not shown(main) & shown(advanced)


# --- a failed ingest says so first and never claims the index is up to date ------------------------

def test_failed_ingest_summary_leads_with_the_failure(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "t"}]', encoding="utf-8")
    first = run("ingest", CORPUS, bad)
    assert first.exit_code == 1
    summary = first.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 failed; indexed 1 new"), summary

    again = run("ingest", CORPUS, bad)  # the good article is unchanged, the bad record still fails
    assert again.exit_code == 1
    summary = again.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 failed; "), summary
    assert "up to date" not in again.output.lower()
    assert "bad.json[0]" in again.stderr

    clean = run("ingest", CORPUS)
    assert clean.exit_code == 0 and clean.stdout.startswith("Index up to date"), clean.stdout


# --- no "Loading weights" bars from transformers; the project's own ingest bar stays ----------------

@pytest.fixture
def cold_model(embedder, monkeypatch):
    """The CLI loads the model itself (as a fresh process does); library switches restored after."""
    from transformers.utils import logging as hf_logging

    from assistant.embed import embedders

    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY", "TRANSFORMERS_NO_ADVISORY_WARNINGS"):
        monkeypatch.setenv(name, "placeholder")  # recorded, so the test's changes are undone
        monkeypatch.delenv(name)
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()
    embedders._load.cache_clear()
    yield
    embedders._load.cache_clear()
    (hf_logging.enable_progress_bar if was_enabled else hf_logging.disable_progress_bar)()


def test_no_library_progress_bars_but_the_ingest_bar_stays(cold_model, runner):
    ingest = runner.invoke(cli.main, ["ingest", str(CORPUS)], catch_exceptions=False)
    assert ingest.exit_code == 0, ingest.output
    assert "Loading weights" not in ingest.output
    assert "Embedding" in ingest.stderr, "the project's own progress bar is kept"

    from assistant.embed import embedders

    embedders._load.cache_clear()  # ask loads the model again, as a new process would
    ask = runner.invoke(cli.main, ["ask", "What did the expert say about China?"], catch_exceptions=False)
    assert ask.exit_code == 0, ask.output
    assert "[1]" in ask.stdout
    assert ask.stderr == "", ask.stderr


# --- chat commands ---------------------------------------------------------------------------------

def test_chat_commands_are_not_questions(run):
    run("ingest", CORPUS)
    result = run("chat", input="/help\n/bogus\n/new\n/quit\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "assistant>" not in out, "no command was sent as a question"
    for command in ("/help", "/new", "/quit"):
        assert f"  {command} " in out
    assert "Unknown command /bogus; commands: /help, /new, /quit" in out
    assert "new conversation" in out


def test_chat_answers_after_a_command_and_reset_alias_still_works(run):
    run("ingest", CORPUS)
    result = run("chat", "--no-sources", input="/reset\nWhat did the expert say about China?\n/exit\n")
    assert result.exit_code == 0, result.output
    assert "new conversation" in result.stdout
    assert result.stdout.count("assistant>") == 1 and "Zhelikhovsky" in result.stdout


def test_command_of_tells_commands_from_questions():
    assert chat_cli.command_of("/HELP") == "/help"
    assert chat_cli.command_of("/reset") == "/new"
    assert chat_cli.command_of("/whatever now") == "/whatever"
    assert chat_cli.command_of("/usr/bin is a folder?") is None
    assert chat_cli.command_of("What about /help?") is None


# --- --version -------------------------------------------------------------------------------------

def test_version(runner):
    result = runner.invoke(cli.main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"assistant (news-assistant) {version('news-assistant')}"


def test_app_py_with_a_replaced_setting_says_so_in_one_line(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
           "ASSISTANT_UNSUPPORTED_SENTENCES": "flag"}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("Error: ASSISTANT_UNSUPPORTED_SENTENCES is no longer a setting; use the "
                                   "profile's answer.unsupported_sentences (docs/profiles.md)")
