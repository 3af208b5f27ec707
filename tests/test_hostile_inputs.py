"""Hostile input: every bad file or record is named with its fix, never stops the batch, never hangs.

The big tests generate over 200 hostile files (dates that overflow UTC, JSON and HTML nested
100,000 deep, symlink loops, FIFOs, devices, lone surrogates, wrong types, huge fields, binary
garbage, odd encodings, empty files, non-http urls, duplicate urls…) mixed with good articles,
and run them through ``assistant ingest`` and through one ``POST /api/articles``.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from assistant.apps.web.uploads import upload_name
from assistant.errors import InputError
from assistant.ingest import normalize_date, read_file, read_paths
from assistant.ingest.readers import shown_path
from assistant.models import Article

OVERFLOWING_DATES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00", "Mon, 01 Jan 0001 00:00:00 +1400",
                     "Fri, 31 Dec 9999 23:30:00 -0100"]


# --- the generated corpus ------------------------------------------------------------------


def good_record(n: int, **extra) -> dict:
    return {"title": f"Harbour report {n}: ferry number {n} sails again",
            "body": f"Ferry number {n} sailed again on Monday after repairs. "
                    f"The harbour master said ferry {n} carried {100 + n} passengers.",
            "source": "Port Gazette", "author": "Ann Lee", "category": "transport",
            "published_at": f"2024-03-{1 + n % 28:02d}",
            "url": f"https://news.example.org/ferry/{n}", **extra}


@dataclass
class Corpus:
    folder: Path
    good: dict[str, str] = field(default_factory=dict)  # article id -> title, all must be indexed
    bad: list[Path] = field(default_factory=list)  # each must be named in the report
    special: list[Path] = field(default_factory=list)  # not regular files (the CLI only)
    made: int = 0  # good records made so far

    def new_good(self, **extra) -> dict:
        self.made += 1
        record = good_record(self.made, **extra)
        self.good[Article(title=record["title"], body=record["body"], url=record["url"]).id] = record["title"]
        return record

    def write(self, name: str | bytes, content: str | bytes) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(self.folder), os.fsencode(name))))
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        with open(os.fsencode(path), "wb") as out:
            out.write(data)
        return path

    def add_bad(self, name: str | bytes, content: str | bytes) -> None:
        self.bad.append(self.write(name, content))

    def add_good(self, name: str, content: str | bytes) -> None:
        self.write(name, content)


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def html_page(title: str | None, body: str | None, meta: dict[str, str] | None = None) -> str:
    tags = "".join(f'<meta property="{k}" content="{v}">' for k, v in (meta or {}).items())
    head = f"<head><title>{title}</title>{tags}</head>" if title is not None else f"<head>{tags}</head>"
    return f"<!doctype html><html>{head}<body><article>{body or ''}</article></body></html>"


def build_corpus(folder: Path, *, special_files: bool) -> Corpus:
    """Over 200 hostile files and about 40 good articles (some inside partly bad files)."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(folder)
    rng = random.Random(17)
    n = 0

    def name(stem: str, suffix: str) -> str:
        nonlocal n
        n += 1
        return f"h{n:03d}_{stem}{suffix}"

    # Good articles in every format.
    for i in range(8):
        corpus.add_good(f"good_{i}.json", json_text(corpus.new_good()))
    corpus.add_good("good_list.json", json_text([corpus.new_good(), corpus.new_good()]))
    corpus.add_good("good_wrapped.json", json_text({"articles": [corpus.new_good()]}))
    corpus.add_good("good_lines.jsonl", "\n".join(json_text(corpus.new_good()) for _ in range(3)) + "\n")
    for i in range(3):
        record = corpus.new_good()
        corpus.add_good(f"good_{i}.md", f"---\ntitle: {record['title']}\nsource: Port Gazette\nurl: {record['url']}\n"
                                        f"---\n{record['body']}\n")
    for i in range(2):
        record = corpus.new_good()
        corpus.add_good(f"good_{i}.html", html_page(record["title"], f"<p>{record['body']}</p>",
                                                    {"og:url": record["url"]}))
    for i in range(2):  # .txt: no metadata, so the id comes from the title
        title, body = f"Plain note {i} on the harbour tides", f"The tide rose {i + 2} metres at the harbour wall."
        corpus.add_good(f"good_{i}.txt", f"{title}\n\n{body}\n")
        corpus.good[Article(title=title, body=body).id] = title

    # Dates that overflow on conversion to UTC, or read as another year, or are no dates.
    for value in [*OVERFLOWING_DATES, "0000-01-01", "10000-01-01", "2023-02-30", "Mon, 01 Jan 0000 00:00:00 GMT",
                  "yesterday", "9" * 5000]:
        corpus.add_bad(name("date", ".json"), json_text(good_record(900, published_at=value)))
        corpus.add_bad(name("date", ".md"), f"---\ntitle: Dated\ndate: {value}\n---\nBody text.\n")
        corpus.add_bad(name("date", ".html"), html_page("Dated", "<p>Body text.</p>",
                                                        {"article:published_time": value}))
    for value in [1e20, -1e20, True, [2023, 1, 1], {"year": 2023}]:
        record = {k: v for k, v in good_record(901).items() if k != "published_at"} | {"date": value}
        corpus.add_bad(name("date_type", ".json"), json_text(record))
    corpus.add_bad(name("date_nan", ".json"), '{"title": "T", "body": "B", "published_at": NaN}')
    corpus.add_bad(name("date_inf", ".json"), '{"title": "T", "body": "B", "published_at": -Infinity}')
    lines = [json_text(corpus.new_good()), json_text(good_record(902, published_at=OVERFLOWING_DATES[0])),
             json_text(corpus.new_good())]
    corpus.add_bad(name("date_mixed", ".jsonl"), "\n".join(lines))

    # Nesting: JSON and HTML 100,000 deep (and just over the limits).
    corpus.add_bad(name("deep_list", ".json"), "[" * 100_000 + "]" * 100_000)
    corpus.add_bad(name("deep_object", ".json"), '{"a": ' * 100_000 + "1" + "}" * 100_000)
    corpus.add_bad(name("deep_65", ".json"), "[" * 65 + json_text(good_record(903)) + "]" * 65)
    corpus.add_bad(name("deep_body", ".json"), '{"title": "T", "body": ' + "[" * 5000 + "]" * 5000 + "}")
    lines = [json_text(corpus.new_good()), "[" * 100_000 + "]" * 100_000, json_text(corpus.new_good())]
    corpus.add_bad(name("deep_line", ".jsonl"), "\n".join(lines))
    corpus.add_bad(name("deep_unclosed", ".json"), "[" * 100_000)
    corpus.add_bad(name("deep_div", ".html"), "<html><head><title>Deep</title></head><body>" + "<div>" * 100_000
                   + "<p>text</p>" + "</div>" * 100_000 + "</body></html>")
    corpus.add_bad(name("deep_b", ".html"), "<title>Deep</title>" + "<b>" * 100_000 + "<p>text</p>")
    corpus.add_bad(name("deep_span", ".html"), "<title>Deep</title>" + "<span>" * 600 + "<p>text</p>")
    corpus.add_bad(name("deep_selfclosing", ".htm"), "<title>Deep</title>" + "<div/>" * 100_000 + "<p>text</p>")
    corpus.add_bad(name("deep_table", ".html"), "<title>Deep</title>" + "<table><tr><td>" * 2000 + "<p>text</p>")
    corpus.add_bad(name("deep_md", ".md"), "# " + "[" * 100_000 + "\n\n" + "{" * 100_000 + "\n" + "\x01")

    # Lone surrogates (from JSON escapes) in every field, high and low halves.
    for surrogate in ("\\ud800", "\\udfff", "\\udc80"):
        for key in ("title", "body", "url", "source", "author", "category", "published_at"):
            record = json.dumps(good_record(904)).replace(f'"{key}": "', f'"{key}": "x{surrogate}', 1)
            corpus.add_bad(name(f"surrogate_{key}", ".json"), record)
        corpus.add_bad(name("surrogate_line", ".jsonl"), json.dumps(good_record(905)).replace('"title": "', f'"title": "{surrogate}'))
    corpus.add_bad(b"h_bad_name_\xff\xfe.json", "{")  # a file name that is not UTF-8
    corpus.add_bad("h_escape_\x1b[2J_name.json", "{")  # a file name that would clear the terminal

    # Empty, and holding no articles.
    for suffix in (".json", ".jsonl", ".md", ".txt", ".html"):
        corpus.add_bad(name("empty", suffix), b"")
        corpus.add_bad(name("blank", suffix), " \n\t\n")
        corpus.add_bad(name("bom_only", suffix), b"\xef\xbb\xbf\n")
    for content in ("[]", '{"articles": []}', "{}", "[{}]", "null", '""', "0", "true", '{"articles": {}}',
                    '{"articles": "none"}', "[[]]", "[null, 1, \"x\"]"):
        corpus.add_bad(name("no_articles", ".json"), content)
    corpus.add_bad(name("blank_lines", ".jsonl"), "\n\n   \n")
    corpus.add_bad(name("jsonl_list", ".jsonl"), "[]\n")
    corpus.add_bad(name("empty_html", ".html"), "<html><head><title>T</title></head><body></body></html>")

    # Malformed JSON, JSON lines, HTML and markdown front matter.
    for content in ['{"title": "T", "body": "B"', '{"title": "T", "body": "B",}', "{'title': 'T', 'body': 'B'}",
                    '// comment\n{"title": "T", "body": "B"}', '{"title": "T", "body": "B", "n": ' + "7" * 5000 + "}",
                    '{title: "T", body: "B"}', '{"title": "T", "body": "B"}{"title": "U", "body": "C"}', "{",
                    "[1, 2", '{"title": "T\tx", "body": "B\n"}', '{"title": "T", "body": "\\x41"}', "]]]", "\\"]:
        corpus.add_bad(name("bad_json", ".json"), content)
        if "\n" not in content:  # the same as one line among good ones
            corpus.add_bad(name("bad_line", ".jsonl"), json_text(corpus.new_good()) + "\n" + content + "\n")
    lines = [json_text(corpus.new_good()), "{not json", '{"title": "no body"}', "[1]", '"text"',
             '{"title": "T", "body": "B", "n": ' + "1" * 5000 + "}"]
    corpus.add_bad(name("bad_lines", ".jsonl"), "\n".join(lines) + "\n")
    many = [json_text({"title": f"t{i}"}) for i in range(500)] + [json_text(corpus.new_good())]
    corpus.add_bad(name("many_bad_lines", ".jsonl"), "\n".join(many))
    for content in ["<html><body><p>No title anywhere.</p></body></html>", "<title>No text</title>",
                    "<title>Script only</title><script>document.write('<p>x</p>')</script>",
                    "<title>Comment</title><!-- <p>hidden</p> -->", "<" * 50_000, "<a" * 50_000,
                    "<title>" + "T" * 5000 + "</title><p>Body.</p>"]:
        corpus.add_bad(name("bad_html", ".html"), content)
    for content in ["---\ntitle: T\nBody without end\n", "---\ntitle: T\njust words\n---\nBody\n",
                    "---\ntitle: T\n---\n", "Only a title\n\n", "# Heading only\n",
                    "---\ntitle: " + "T" * 5000 + "\n---\nBody.\n", "\x1b[31mRed title\x1b[0m\n\nBody.\n",
                    "---\ntitle: T\nurl: javascript:alert(1)\n---\nBody.\n", "---\n: no key\n---\nBody\n",
                    "---\ntitle: T\ndate: 31/02/2023\n---\nBody\n", "---\n---\n\n\n"]:
        corpus.add_bad(name("bad_front_matter", ".md"), content)
    corpus.add_bad(name("bad_txt", ".txt"), "Title\n\nBody with a bell \x07 in it.\n")

    # Wrong types for fields.
    for key, value in [("title", 5), ("title", ["a"]), ("title", {"t": 1}), ("title", True),
                       ("body", 5), ("body", ["a", "b"]), ("body", {"text": "x"}), ("body", None), ("body", False),
                       ("source", 5), ("source", {"n": "x"}), ("author", [1, 2]), ("author", 3.5),
                       ("url", 5), ("url", [1]), ("category", True), ("category", {"c": 1})]:
        record = good_record(906) | {key: value}
        corpus.add_bad(name(f"type_{key}", ".json"), json_text(record))

    # Huge fields and files.
    for key, size in [("title", 5_000), ("source", 10_000), ("author", 10_000), ("url", 5_000),
                      ("category", 3_000), ("body", 2_100_000)]:
        record = good_record(907) | {key: ("https://a.org/" if key == "url" else "") + "x" * size}
        corpus.add_bad(name(f"huge_{key}", ".json"), json_text(record))
    corpus.add_bad(name("huge_txt", ".txt"), "Huge\n\n" + ("word " * 420_000))

    # Binary garbage and odd encodings.
    for suffix in (".json", ".jsonl", ".md", ".txt", ".html", ".htm"):
        corpus.add_bad(name("random", suffix), bytes(rng.randrange(256) for _ in range(4096)))
    corpus.add_bad(name("png", ".md"), b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(500)))
    corpus.add_bad(name("gzip", ".jsonl"), gzip.compress(json_text(good_record(908)).encode()))
    corpus.add_bad(name("nuls", ".txt"), b"\x00" * 1000)
    corpus.add_bad(name("nul_in_text", ".md"), "Title\n\nBody \x00 text.\n")
    corpus.add_bad(name("nul_escape", ".json"), json.dumps(good_record(909) | {"body": "a\u0000b"}))
    corpus.add_bad(name("utf16_bom", ".json"), "\ufeff".encode("utf-16-le") + json_text(good_record(910)).encode("utf-16-le"))
    corpus.add_bad(name("utf16_be", ".jsonl"), json_text(good_record(911)).encode("utf-16"))
    corpus.add_bad(name("utf16_no_bom", ".txt"), "Title\n\nBody.\n".encode("utf-16-le"))
    corpus.add_bad(name("latin1", ".md"), "Caf\xe9 news\n\nCr\xe8me br\xfbl\xe9e.\n".encode("latin-1"))
    corpus.add_bad(name("shift_jis", ".txt"), "ニュース\n\n本文です。\n".encode("shift_jis"))
    corpus.add_bad(name("cesu", ".json"), b'{"title": "T\xed\xa0\x80", "body": "B"}')
    corpus.add_bad(name("overlong", ".json"), b'{"title": "T\xc0\xaf", "body": "B"}')
    corpus.add_bad(name("utf32", ".json"), json_text(good_record(912)).encode("utf-32"))

    # Urls that are not web links, control characters.
    for url in ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,<script>x</script>",
                "vbscript:msgbox", "/news/relative", "www.example.org/no-scheme", "ftp://example.org/a",
                "https://example.org/\njavascript:alert(1)", "http://", "file:///etc/passwd"]:
        corpus.add_bad(name("url", ".json"), json_text(good_record(913) | {"url": url}))
    for key, text in [("title", "Bell \x07 title"), ("source", "Escape \x1b[2J outlet"),
                      ("author", "Back\x08space"), ("body", "Body \x1b[31m red"), ("category", "cat\x1b")]:
        corpus.add_bad(name(f"control_{key}", ".json"), json_text(good_record(914) | {key: text}))

    # A bad record whose url is a good article's, sorted first: it never replaces the good one.
    target = corpus.new_good()
    for problem in ({"body": "x\ud800"}, {"published_at": OVERFLOWING_DATES[1]}, {"title": 5}):
        corpus.add_bad(f"a{len(corpus.bad):03d}_dup_bad.json",
                       json.dumps({**target, "title": "Impostor", **problem}))
    corpus.add_good("zz_dup_target.json", json_text(target))
    # …nor does a readable record with that url from a file that is partly broken.
    target2 = corpus.new_good()
    corpus.add_bad("a_dup_flawed.jsonl", "{broken\n" + json_text({**target2, "title": "Impostor two"}) + "\n")
    corpus.add_good("zz_dup_target2.json", json_text(target2))

    if special_files:
        os.symlink("loop_self.json", folder / "loop_self.json")
        os.symlink("loop_b.json", folder / "loop_a.json")
        os.symlink("loop_a.json", folder / "loop_b.json")
        os.symlink("nowhere.json", folder / "broken_link.json")
        os.symlink("/dev/zero", folder / "zero.json")
        os.symlink("/dev/urandom", folder / "urandom.jsonl")
        os.symlink("/dev/null", folder / "null.md")
        os.mkfifo(folder / "x.json")
        os.mkfifo(folder / "pipe.html")
        corpus.special = [folder / name for name in ("loop_self.json", "loop_a.json", "loop_b.json",
                                                      "broken_link.json", "zero.json", "urandom.jsonl", "null.md",
                                                      "x.json", "pipe.html")]
        corpus.bad.extend(corpus.special)
    return corpus


def shown(path: Path) -> str:
    """The file as reports name it: bytes that are not UTF-8 and control characters as \\xNN."""
    return shown_path(path)


def sent_name(path: Path) -> str:
    """The name a browser would send for the file (a name that is not UTF-8 arrives with U+FFFD)."""
    return os.fsencode(path.name).decode("utf-8", "replace")


def named(where_list: list[str], path: Path | str) -> bool:
    """Whether some error names this file (the file itself, or one of its records)."""
    text = shown(path) if isinstance(path, Path) else path
    return any(w == text or w.startswith((text + "[", text + ":")) for w in where_list)


# --- the whole batch: CLI and API -----------------------------------------------------------


@pytest.mark.slow  # about 10 s: the command loads its own copy of the model
def test_cli_ingest_of_hostile_folder_indexes_every_good_article_and_names_every_bad_file(tmp_path):
    from assistant.apps.cli import main

    corpus = build_corpus(tmp_path / "hostile", special_files=True)
    assert len(corpus.bad) >= 200 and len(corpus.good) >= 30

    started = time.perf_counter()
    result = CliRunner().invoke(main, ["ingest", str(corpus.folder), "--json"])
    seconds = time.perf_counter() - started

    output = result.output
    assert "Traceback" not in output
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, output[-2000:]
    report = json.loads(result.stdout)
    wheres = [e["where"] for e in report["errors"]]
    missing = [shown(p) for p in corpus.bad if not named(wheres, p)]
    assert not missing, missing
    assert all(e["problem"] and e["fix"] for e in report["errors"])
    assert not any(c in e["where"] + e["problem"] for e in report["errors"] for c in "\x1b\x00"), "nothing unprintable"
    assert report["failed"] >= len(corpus.bad)

    from assistant import Settings, build_assistant

    rows = {row["id"]: row for row in build_assistant(Settings()).articles()}  # the CLI's settings
    assert set(corpus.good) <= set(rows), "every good article is indexed"
    assert set(rows) == set(corpus.good), "nothing else is"
    assert all(rows[aid]["title"] == title for aid, title in corpus.good.items()), "no impostor replaced one"
    assert not any("Impostor" in row["title"] for row in rows.values())
    print(f"\nCLI: {len(corpus.bad)} hostile files ({len(corpus.special)} special), {len(corpus.good)} good "
          f"articles, {report['failed']} failures reported, exit 1, in {seconds:.1f} s")


def test_api_upload_of_hostile_files_gives_per_file_errors_and_indexes_the_good_ones(tmp_path, make_assistant):
    from assistant.apps.api import create_api

    corpus = build_corpus(tmp_path / "hostile", special_files=False)
    assistant = make_assistant(max_upload_files=1000, max_upload_mb=100)
    client = TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)
    paths = sorted(p for p in corpus.folder.iterdir())
    uploads = [("files", (sent_name(p), p.read_bytes(), "application/octet-stream")) for p in paths]

    started = time.perf_counter()
    response = client.post("/api/articles", files=uploads)
    seconds = time.perf_counter() - started

    assert response.status_code == 201, response.text[:2000]
    assert "Traceback" not in response.text
    report = response.json()
    wheres = [e["where"] for e in report["errors"]]
    missing = [sent_name(p) for p in corpus.bad if not named(wheres, upload_name(sent_name(p)))]
    assert not missing, missing
    assert all("/tmp" not in w for w in wheres), "errors name files as uploaded"
    rows = {row["id"]: row for row in client.get("/api/articles").json()["articles"]}
    assert set(rows) == set(corpus.good)
    assert all(rows[aid]["title"] == title for aid, title in corpus.good.items())
    print(f"\nAPI: {len(corpus.bad)} hostile files and {len(paths) - len(corpus.bad)} good ones in one upload, "
          f"{report['failed']} failures reported, 201, in {seconds:.1f} s")


# --- one case at a time ----------------------------------------------------------------------


@pytest.mark.parametrize("value", OVERFLOWING_DATES)
def test_dates_that_overflow_utc_are_refused_by_name(value):
    with pytest.raises(ValueError, match="outside the years 1-9999"):
        normalize_date(value)


def test_rfc2822_four_digit_years_are_read_as_written():
    assert normalize_date("Mon, 01 Jan 0001 12:00:00 +0100") == "0001-01-01T11:00:00Z"
    assert normalize_date("Mon, 27 Nov 2023 08:45:59 GMT") == "2023-11-27T08:45:59Z"
    assert normalize_date("Mon, 27 Nov 23 08:45:59 GMT") == "2023-11-27T08:45:59Z"  # two digits: RFC 2822's rule


def test_date_overflow_is_a_record_error_with_the_fix(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json_text(good_record(i, published_at=d)) for i, d in enumerate(OVERFLOWING_DATES)))
    result = read_file(path)
    assert result.articles == []
    assert [e.where for e in result.errors] == [f"{path}:{i}" for i in range(1, 5)]
    assert all("out of range" in e.problem and "ISO 8601" in e.fix for e in result.errors)


def test_json_nested_100000_deep_is_refused_before_parsing(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    lines = tmp_path / "deep.jsonl"
    lines.write_text(json_text(good_record(1)) + "\n" + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "\n"
                     + json_text(good_record(2)) + "\n")

    result = read_paths([deep, lines])

    assert [a.title for a in result.articles] == [good_record(1)["title"], good_record(2)["title"]]
    assert [(e.where, e.problem) for e in result.errors] == [
        (str(deep), "JSON nested 100000 deep; an article is at most 64 deep"),
        (f"{lines}:2", "JSON nested 100000 deep; an article is at most 64 deep"),
    ]


def test_special_files_are_skipped_unopened_and_loops_named(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.json").write_text(json_text(good_record(1)))
    os.mkfifo(folder / "x.json")
    os.symlink("/dev/zero", folder / "zero.json")
    os.symlink("loop.json", folder / "loop.json")
    os.symlink("missing.json", folder / "dangling.json")
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", read_paths([folder])), daemon=True)

    worker.start()
    worker.join(30)

    assert not worker.is_alive(), "reading a folder with a FIFO must not hang"
    result = outcome["result"]
    assert [a.title for a in result.articles] == [good_record(1)["title"]]
    problems = {Path(e.where).name: e.problem for e in result.errors}
    assert problems["x.json"].startswith("a named pipe (FIFO), not a regular file; skipped without reading")
    assert problems["zero.json"].startswith("a character device, not a regular file")
    assert problems["loop.json"].startswith("a symbolic link loop")
    assert problems["dangling.json"].startswith("a broken symbolic link")
    # Given explicitly, too.
    explicit = read_paths([folder / "x.json", folder / "zero.json", folder / "loop.json"])
    assert len(explicit.errors) == 3 and explicit.articles == []


@pytest.mark.parametrize("key", ["title", "body", "url", "source", "author", "category"])
def test_a_lone_surrogate_in_any_field_is_a_record_error(tmp_path, key):
    path = tmp_path / "x.json"
    record = json.dumps(good_record(1)).replace(f'"{key}": "', f'"{key}": "a\\ud800', 1)
    path.write_text(json.dumps([json.loads(record), good_record(2)]))

    result = read_file(path)

    assert [a.title for a in result.articles] == [good_record(2)["title"]]
    error = result.errors[0]
    assert error.where == f"{path}[0]" and f"{key!r} holds a lone surrogate \\ud800" in error.problem
    str(error).encode("utf-8")  # the message itself can be printed


def test_a_file_holding_no_articles_says_so(tmp_path):
    for name, content in [("list.json", "[]"), ("wrapped.json", '{"articles": []}')]:
        path = tmp_path / name
        path.write_text(content)
        (error,) = read_file(path).errors
        assert error.problem == "the file holds no articles (an empty list)" and error.fix


def test_html_nested_100000_deep_is_refused_at_once(tmp_path):
    path = tmp_path / "deep.html"
    path.write_text("<html><head><title>Deep</title></head><body>" + "<div>" * 100_000 + "<p>text</p>"
                    + "</div>" * 100_000 + "</body></html>")
    assert path.stat().st_size > 1_100_000

    started = time.perf_counter()
    (error,) = read_file(path).errors
    seconds = time.perf_counter() - started

    assert "nest more than 512 deep" in error.problem and error.fix
    assert seconds < 5, f"{seconds:.1f} s (the parser alone took 185 s)"


def test_html_nesting_within_the_limit_is_read(tmp_path):
    path = tmp_path / "nested.html"
    path.write_text("<html><head><title>Nested</title></head><body>" + "<div>" * 400 + "<p>Deep text.</p>"
                    + "</div>" * 400 + "<ul>" + "<li><p>item</p>" * 5000 + "</ul></body></html>")
    (article,) = read_file(path).articles
    assert article.title == "Nested" and article.body.startswith("Deep text.")


def test_non_web_urls_are_refused_and_html_only_takes_web_links(tmp_path):
    for url in ["javascript:alert(1)", "data:text/html,x", "/relative", "https://x.org/\nx"]:
        path = tmp_path / "x.json"
        path.write_text(json_text(good_record(1, url=url)))
        (error,) = read_file(path).errors
        assert "is not a web link" in error.problem or "control character" in error.problem
        assert error.fix
    page = tmp_path / "page.html"
    page.write_text(html_page("Title", "<p>Text.</p>", {"og:url": "javascript:alert(1)"}))
    (article,) = read_file(page).articles
    assert article.url is None


def test_duplicate_urls_never_let_a_broken_record_replace_a_good_one(tmp_path, make_assistant):
    assistant = make_assistant()
    folder = tmp_path / "in"
    folder.mkdir()
    good = good_record(1)
    (folder / "a_broken.json").write_text(json.dumps({**good, "title": "Impostor", "body": "x\ud800"}))
    (folder / "b_flawed.jsonl").write_text("{oops\n" + json_text({**good, "title": "Impostor two"}) + "\n")
    (folder / "c_good.json").write_text(json_text(good))
    (folder / "d_copy.json").write_text(json_text(good))

    report = assistant.ingest([folder])

    (row,) = assistant.articles()
    assert row["title"] == good["title"]
    problems = {e.where: e.problem for e in report.errors}
    assert "lone surrogate" in problems[str(folder / "a_broken.json")]
    flawed = problems[f"{folder / 'b_flawed.jsonl'}:2"]
    assert flawed.startswith(f"same url as {folder / 'c_good.json'} but different content") and "read cleanly" in flawed
    assert problems[str(folder / "d_copy.json")].startswith("duplicate of")

    # A later batch: a clean file with the same url but other content does not shadow the indexed one
    # when the indexed version is read in the same batch; it is reported.
    (folder / "a_other.json").write_text(json_text({**good, "title": "Another version"}))
    report = assistant.ingest([folder])
    assert assistant.articles()[0]["title"] == good["title"]
    assert any("already indexed" in e.problem for e in report.errors)


def test_prune_keeps_articles_whose_file_could_not_be_read(tmp_path, make_assistant):
    assistant = make_assistant()
    folder = tmp_path / "in"
    folder.mkdir()
    kept, gone = folder / "kept.json", folder / "gone.json"
    kept.write_text(json_text(good_record(1)))
    gone.write_text(json_text(good_record(2)))
    assistant.ingest([folder])
    kept.write_text('{"title": "half written')  # e.g. being saved while ingest runs
    gone.unlink()

    report = assistant.ingest([folder], prune=True)

    assert report.removed == 1
    assert [row["title"] for row in assistant.articles()] == [good_record(1)["title"]]


def test_many_bad_records_are_counted_not_all_listed(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(['{"title": "no body"}'] * 1000 + [json_text(good_record(1))]))
    result = read_file(path)
    assert len(result.articles) == 1 and len(result.errors) == 51
    assert result.errors[-1].problem == "950 more records could not be read (not listed)"
    assert isinstance(result.errors[-1], InputError)


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def api(make_assistant):
    from assistant.apps.api import create_api

    assistant = make_assistant()
    assistant.indexer.ingest_articles([
        Article(**good_record(1)),
        Article(**good_record(2, url="javascript:alert(document.cookie)")),  # as an older version indexed it
        Article(**good_record(3, url="data:text/html,<script>alert(1)</script>")),
    ])
    return assistant, TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)


def test_ask_with_40000_outlets_is_a_clear_422(api):
    _, client = api
    response = client.post("/api/ask", json={"question": "Which ferry sails again?",
                                             "filters": {"sources": [f"Outlet {i}" for i in range(40_000)]}})
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert "filters.sources" in error["message"] and "200" in error["message"]
    for params in ({"source": [f"s{i}" for i in range(300)]}, {"category": [f"c{i}" for i in range(300)]},
                   {"source": ["x" * 400]}):
        response = client.get("/api/search", params={"q": "ferry", **params})
        assert response.status_code == 422, response.text[:500]
    history = [{"question": "q", "answer": "a"}] * 21
    assert client.post("/api/ask", json={"question": "q", "history": history}).status_code == 422
    fine = client.post("/api/ask", json={"question": "Which ferry sails again?",
                                         "filters": {"sources": ["Port Gazette"] * 200}})
    assert fine.status_code == 200, fine.text[:500]


def test_the_api_returns_only_web_links(api):
    _, client = api
    rows = client.get("/api/articles").json()["articles"]
    assert sorted(str(row["url"]) for row in rows) == ["None", "None", "https://news.example.org/ferry/1"]
    answer = client.post("/api/ask", json={"question": "How many passengers did the ferry carry?", "k": 10}).json()
    passages = client.get("/api/search", params={"q": "ferry passengers", "k": 10}).json()["passages"]
    urls = [c["url"] for c in answer["citations"]] + [p["url"] for p in answer["passages"]] + [p["url"] for p in passages]
    assert len(passages) == 3 and urls
    assert all(url is None or url.startswith("https://") for url in urls), urls


@pytest.mark.parametrize("stage", ["read", "embedded"])
def test_a_question_is_not_held_up_while_an_upload_is_read_or_embedded(api, embedder, monkeypatch, stage):
    """Reading and embedding an upload happen before the index's write lock: a question asked
    meanwhile is answered at once (it used to wait for the whole upload)."""
    import assistant.apps.web.uploads as uploads

    _, client = api
    busy, release = threading.Event(), threading.Event()
    marker = "Zanzibarquay"  # only the uploaded article holds this word

    def hold():
        busy.set()
        release.wait(60)

    if stage == "read":
        real_read_file = uploads.read_file
        monkeypatch.setattr(uploads, "read_file", lambda path: (hold(), real_read_file(path))[1])
    else:
        real_embed = embedder.embed
        monkeypatch.setattr(embedder, "embed", lambda texts, *a, **k: (
            hold() if any(marker in t for t in texts) else None, real_embed(texts, *a, **k))[1])
    record = good_record(9, body=f"The {marker} ferry sailed again on Monday. It carried 40 passengers.")
    upload: dict = {}
    worker = threading.Thread(target=lambda: upload.setdefault("response", client.post(
        "/api/articles", files={"files": ("new.json", json_text(record).encode(), "application/json")})))
    worker.start()
    try:
        assert busy.wait(30)
        asked: dict = {}
        question = threading.Thread(target=lambda: asked.setdefault("response", client.post(
            "/api/ask", json={"question": "Which ferry sails again?"})))
        question.start()
        question.join(30)
        assert not question.is_alive(), f"the question waited for the upload being {stage}"
        assert asked["response"].status_code == 200
    finally:
        release.set()
        worker.join(60)
    assert upload["response"].status_code == 201, upload["response"].text
    assert upload["response"].json()["added"] == 1
