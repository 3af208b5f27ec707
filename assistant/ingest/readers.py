"""Files and folders of news articles to :class:`~assistant.models.Article` objects.

Formats: ``.json`` (an article, a list of them or ``{"articles": [...]}``), ``.jsonl`` (one
article a line), ``.md``/``.txt`` (optional ``---`` front matter, else the first line is the
title) and ``.html``/``.htm``. A bad file or record becomes an :class:`InputError` in the result
and never stops the others from being read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.dates import EXPECTED as EXPECTED_DATES
from assistant.ingest.dates import normalize_date
from assistant.ingest.html_text import parse_html
from assistant.models import Article

SUPPORTED_SUFFIXES = (".json", ".jsonl", ".md", ".txt", ".html", ".htm")

BODY_KEYS = ("body", "text", "content")
DATE_KEYS = ("published_at", "date")
META_KEYS = ("source", "author", "url", "category")
NULL_WORDS = frozenset({"none", "null"})  # Metadata spelled as "no value", e.g. MultiHop-RAG's author "None".

_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*\r?(\n|\Z)")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")
_ATX_HEADING = re.compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?")
_SETEXT_UNDERLINE = re.compile(r"[ \t]*(=+|-+)[ \t]*\r?")


@dataclass
class ReadResult:
    """Articles read, problems found, and how many files were read."""

    articles: list[Article] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0

    def extend(self, other: ReadResult) -> None:
        self.articles.extend(other.articles)
        self.errors.extend(other.errors)
        self.files += other.files


def read_paths(paths: Iterable[str | Path]) -> ReadResult:
    """Read files and folders (recursively, in sorted order) in the order given.

    In folders, hidden files and folders and unsupported suffixes are skipped silently; a path
    given explicitly that is missing or unsupported is an error naming it. A file reached twice
    is read once.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = ReadResult()
    seen: set[Path] = set()
    for given in paths:
        files = _files_of(given, result.errors)
        for path in files:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                result.extend(read_file(path))
    return result


def read_file(path: str | Path) -> ReadResult:
    """Read one file of a supported format; ``files`` is 1 whatever happens."""
    path = Path(path)
    where = str(path)
    result = ReadResult(files=1)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        result.errors.append(_unsupported(where))
        return result
    try:
        text = _read_text(path)
    except InputError as error:
        result.errors.append(error)
        return result
    for item in reader(text, where):
        (result.articles if isinstance(item, Article) else result.errors).append(item)
    return result


# --- paths ---------------------------------------------------------------------------------


def _files_of(given: str | Path, errors: list[InputError]) -> list[Path]:
    if not str(given).strip():
        errors.append(InputError(repr(str(given)), "empty path", "give a file or folder name"))
        return []
    path = Path(given)
    if path.is_dir():
        files = _folder_files(path, errors)
        if not files:
            errors.append(
                InputError(str(path), "no supported files in this folder", f"add files ending in {_suffix_list()}")
            )
        return files
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            errors.append(_unsupported(str(path)))
            return []
        return [path]
    if not path.exists():
        errors.append(InputError(str(path), "no such file or folder", "check the path (typo? relative to where?)"))
    else:
        errors.append(InputError(str(path), "not a regular file or folder", "give a file or a folder of articles"))
    return []


def _folder_files(folder: Path, errors: list[InputError]) -> list[Path]:
    def unreadable(error: OSError) -> None:
        errors.append(InputError(str(error.filename), f"cannot list the folder: {error.strerror}", "check permissions"))

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(dirpath, name))
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def _unsupported(where: str) -> InputError:
    return InputError(where, "unsupported file type", f"use one of {_suffix_list()}")


def _suffix_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)


def _read_text(path: Path) -> str:
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problem = f"cannot read the file: {error.strerror}"
        raise InputError(where, problem, "check the path and its permissions") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(
            where,
            f"not UTF-8 text: byte 0x{data[error.start]:02x} on line {line} (byte offset {error.start})"
            " cannot be decoded",
            "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError(where, "the file is empty", "add an article or remove the file")
    return text


# --- formats -------------------------------------------------------------------------------

Item = Article | InputError


def _read_json(text: str, where: str) -> Iterator[Item]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        yield InputError(
            where,
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            "fix the JSON there (python -m json.tool FILE points at the first problem)",
        )
        return
    if isinstance(data, dict) and "articles" in data:
        data = data["articles"]
        if not isinstance(data, list):
            problem = f'"articles" is a JSON {_kind(data)}, not a list'
            yield InputError(where, problem, 'make "articles" a list of objects')
            return
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield article_from_record(record, f"{where}[{index}]")
    elif isinstance(data, dict):
        yield article_from_record(data, where)
    else:
        yield InputError(
            where,
            f"the file holds a JSON {_kind(data)}",
            'give one article object, a list of them, or {"articles": [...]}',
        )


def _read_jsonl(text: str, where: str) -> Iterator[Item]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield InputError(
                f"{where}:{number}",
                f"invalid JSON at column {error.colno}: {error.msg}",
                "fix the line or remove it: each line must be one JSON object",
            )
            continue
        yield article_from_record(record, f"{where}:{number}")


def _read_markdown(text: str, where: str) -> Iterator[Item]:
    yield _text_article(text, where, markdown=True)


def _read_plain_text(text: str, where: str) -> Iterator[Item]:
    yield _text_article(text, where, markdown=False)


def _read_html(text: str, where: str) -> Iterator[Item]:
    page = parse_html(text)
    missing = []
    if not page.title:
        missing.append(("no title (no og:title, <h1> or <title>)", "give the page a <title>"))
    if not page.body:
        missing.append(
            ("no article text (no paragraphs in <article>, <main> or <body>)", "put the text in <p> elements")
        )
    if missing:
        yield InputError(where, "; ".join(p for p, _ in missing), "; ".join(f for _, f in missing))
        return
    record = {"title": page.title, "body": page.body, **page.meta}
    yield article_from_record(record, where, labels=page.fields_from)


_READERS: dict[str, Callable[[str, str], Iterator[Item]]] = {
    ".json": _read_json,
    ".jsonl": _read_jsonl,
    ".md": _read_markdown,
    ".txt": _read_plain_text,
    ".html": _read_html,
    ".htm": _read_html,
}


# --- text files ----------------------------------------------------------------------------


def _text_article(text: str, where: str, *, markdown: bool) -> Item:
    """Front matter (if any) gives the metadata; else the first non-empty line is the title.

    The body is the rest with leading blank lines removed and is otherwise kept byte for byte,
    so that character offsets into it stay valid.
    """
    try:
        meta, rest = _split_front_matter(text, where)
    except InputError as error:
        return error
    record: dict[str, object] = {key: value for key, value in meta.items() if key not in BODY_KEYS}
    body = _LEADING_BLANK_LINES.sub("", rest)
    if "title" not in record:
        first, _, body = body.partition("\n")
        title = first.strip()
        if markdown:
            heading = _ATX_HEADING.fullmatch(title)
            title = heading.group(1) if heading else title
            underline, newline, after = body.partition("\n")
            if newline and _SETEXT_UNDERLINE.fullmatch(underline):
                body = after
        record["title"] = title
        body = _LEADING_BLANK_LINES.sub("", body)
    record["body"] = body
    return article_from_record(record, where)


def _split_front_matter(text: str, where: str) -> tuple[dict[str, str], str]:
    """(``key: value`` pairs between the opening and closing ``---``, the text after them)."""
    if not _FRONT_MATTER_OPEN.match(text):
        return {}, text
    lines = text.split("\n")
    end = next((n for n, line in enumerate(lines) if n and line.startswith("---") and line.strip() == "---"), None)
    if end is None:
        problem = "the front matter opened by '---' on line 1 is never closed"
        raise InputError(where, problem, "end it with a line '---'")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or line[0] in " \t" or stripped.startswith("- "):
            continue  # Blank, comment, or part of a nested value this reader does not use.
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise InputError(
                f"{where}:{number}", f"front matter line {stripped!r} is not 'key: value'", "write it as 'key: value'"
            )
        meta[key.strip().lower()] = _unquote(value.strip())
    return meta, "\n".join(lines[end + 1 :])


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


# --- records -------------------------------------------------------------------------------


def article_from_record(record: object, where: str, labels: dict[str, str] | None = None) -> Item:
    """An Article from a mapping of its fields, or an InputError listing every problem.

    Body may be under ``body``, ``text`` or ``content`` and the date under ``published_at`` or
    ``date``. Metadata is stripped; empty, "None" and "null" become None. ``labels`` names where a
    field came from (e.g. an HTML meta tag) for error messages.
    """
    if not isinstance(record, dict):
        problem = f"the record is a JSON {_kind(record)}, not an object"
        return InputError(where, problem, 'make it an object {"title": ..., "body": ...}')
    labels = labels or {}
    problems: list[tuple[str, str]] = []
    title = _required_text(record, ("title",), problems)
    body = _required_text(record, BODY_KEYS, problems, strip=False)
    meta: dict[str, str | None] = {}
    for key in META_KEYS:
        meta[key] = _optional_text(record.get(key), labels.get(key, key), problems)
    meta["published_at"] = _date(record, labels.get("published_at"), problems)
    if problems:
        return InputError(where, "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    return Article(title=title, body=body, origin=where, **meta)


def _required_text(record: dict, keys: tuple[str, ...], problems: list, *, strip: bool = True) -> str:
    name = keys[0]
    key = next((k for k in keys if record.get(k) is not None), None)
    if key is None:
        also = f" (nor {' or '.join(repr(k) for k in keys[1:])})" if len(keys) > 1 else ""
        problems.append((f"missing {name}{also}", f"give the article a non-empty {name!r}"))
        return ""
    value = record[key]
    if not isinstance(value, str):
        problems.append((f"{key!r} is a JSON {_kind(value)}, not text", f"make {key!r} a string"))
        return ""
    if not value.strip():
        problems.append((f"empty {name}", f"give the article a non-empty {name!r}"))
        return ""
    return value.strip() if strip else value


def _optional_text(value: object, label: str, problems: list) -> str | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ", ".join(item.strip() for item in value if item.strip())  # e.g. several authors
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append((f"{label!r} is a JSON {_kind(value)}, not text", f"make {label!r} a string or remove it"))
        return None
    value = value.strip()
    return None if not value or value.lower() in NULL_WORDS else value


def _date(record: dict, label: str | None, problems: list) -> str | None:
    key = next((k for k in DATE_KEYS if record.get(k) is not None), None)
    if key is None:
        return None
    value = record[key]
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS:
        return None
    try:
        return normalize_date(value)
    except ValueError:
        problems.append(
            (f"unparseable date in {label or key!r}: {value!r}", f"write it as {EXPECTED_DATES}, or remove it")
        )
        return None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), type(value).__name__)
