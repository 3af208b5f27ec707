"""Files and folders of news articles to :class:`~assistant.models.Article` objects.

Formats: ``.json`` (an article, a list of them or ``{"articles": [...]}``), ``.jsonl`` (one
article a line), ``.md``/``.txt`` (optional ``---`` front matter, else the first line is the
title) and ``.html``/``.htm``.

Nothing in a file can stop the others from being read: every problem, of any kind, becomes an
:class:`InputError` naming the file (and record) and the fix, and the good records of the same
file are kept. Before anything is parsed the reader checks what could make parsing hang or
explode: only regular files are opened (FIFOs, devices, sockets and symlink loops are reported,
never read), sizes are bounded (:data:`MAX_FILE_BYTES`), and so are JSON nesting
(:data:`MAX_JSON_NESTING`) and HTML nesting (``html_text.MAX_NESTING``). Each record's fields are
bounded too (:data:`MAX_TITLE_CHARS`, :data:`MAX_META_CHARS`, :data:`MAX_BODY_CHARS`), must be
text a terminal and a database can hold (no lone surrogates or control characters), and a url
must be an absolute http(s) link. See docs/reliability.md ("Bad input").
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import InputError, MoreErrors
from assistant.ingest.dates import EXPECTED as EXPECTED_DATES
from assistant.ingest.dates import normalize_date
from assistant.ingest.furniture import clean_article, strip_furniture
from assistant.ingest.html_text import HtmlTooComplex, parse_html, web_url
from assistant.models import Article
from assistant.ingest.limits import (  # noqa: F401  (the size limits, also read from here)
    MAX_ARTICLE_FILE_BYTES, MAX_BODY_CHARS, MAX_FILE_BYTES, MAX_JSON_NESTING, MAX_LISTED_ERRORS, MAX_META_CHARS,
    MAX_TITLE_CHARS,
)

SUPPORTED_SUFFIXES = (".json", ".jsonl", ".md", ".txt", ".html", ".htm")

BODY_KEYS = ("body", "text", "content")
TITLE_KEYS = ("title", "headline")
LEAD_TITLE_WORDS = 20  # a title taken from the body's first sentence is cut after this many words
DATE_KEYS = ("published_at", "date")
META_KEYS = ("source", "author", "url", "category")
NULL_WORDS = frozenset({"none", "null"})  # Metadata spelled as "no value", e.g. MultiHop-RAG's author "None".


_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*\r?(\n|\Z)")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")
_ATX_HEADING = re.compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?")
_SETEXT_UNDERLINE = re.compile(r"[ \t]*(=+|-+)[ \t]*\r?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE_IN_NAME = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # shown escaped: no terminal escapes
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # not text (tab, newlines, \v and \f are whitespace)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


@dataclass
class ReadResult:
    """Articles read, problems found, and how many files were read.

    ``flawed`` holds the origins of articles read from a file in which something else failed
    (the indexer prefers an article from a clean file when two claim the same url).
    """

    articles: list[Article] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0
    flawed: set[str] = field(default_factory=set)

    def extend(self, other: ReadResult) -> None:
        self.articles.extend(other.articles)
        self.errors.extend(other.errors)
        self.files += other.files
        self.flawed |= other.flawed


def read_paths(paths: Iterable[str | Path]) -> ReadResult:
    """Read files and folders (recursively, in sorted order) in the order given.

    In folders, hidden files and folders and unsupported suffixes are skipped silently; a path
    given explicitly that is missing or unsupported is an error naming it, and so is anything in
    a folder that has a supported suffix but is not a regular file (a FIFO, a device, a broken
    link or a symlink loop): such files are never opened. A file reached twice is read once.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = ReadResult()
    seen: set[tuple[int, int]] = set()
    for given in paths:
        for path, key in _files_of(given, result.errors):
            if key not in seen:
                seen.add(key)
                result.extend(read_file(path))
    return result


def read_file(path: str | Path) -> ReadResult:
    """Read one file of a supported format; ``files`` is 1 whatever happens.

    Never raises for anything the file holds: every problem is an InputError in the result.
    """
    path = Path(path)
    where = shown_path(path)
    result = ReadResult(files=1)
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        result.errors.append(_unsupported(where))
        return result
    unlisted = 0
    try:
        text = _read_text(path, where, MAX_FILE_BYTES.get(suffix, MAX_ARTICLE_FILE_BYTES))
        for item in reader(text, where):
            if isinstance(item, Article):
                result.articles.append(item)
            elif len(result.errors) < MAX_LISTED_ERRORS:
                result.errors.append(item)
            else:
                unlisted += 1
    except InputError as error:
        result.errors.append(error)
    except Exception as error:  # noqa: BLE001 - whatever a file does, the others are still read
        result.errors.append(_unexpected(where, error))
    if unlisted:
        result.errors.append(MoreErrors(where, unlisted, "fix the records listed above; the others are alike"))
    if result.errors:
        result.flawed = {article.origin for article in result.articles}
    return result


def shown_path(path: str | Path) -> str:
    """The path as text that can be printed and stored: undecodable bytes of a file name
    (which Python keeps as lone surrogates) and control characters become ``\\xNN``."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return _UNPRINTABLE_IN_NAME.sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of the name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# --- paths ---------------------------------------------------------------------------------


def _files_of(given: str | Path, errors: list[InputError]) -> list[tuple[Path, tuple[int, int]]]:
    """(File, its device and inode) of each regular file to read under ``given``."""
    if not str(given).strip():
        errors.append(InputError(repr(str(given)), "empty path", "give a file or folder name"))
        return []
    path = Path(given)
    where = shown_path(path)
    try:
        info = os.stat(path)
    except OSError as error:
        errors.append(_stat_error(path, where, error, explicit=True))
        return []
    except ValueError as error:  # e.g. a NUL in the name
        errors.append(InputError(where, f"not a usable path: {error}", "check the path"))
        return []
    if stat.S_ISDIR(info.st_mode):
        files = _folder_files(path, errors)
        if not files:
            errors.append(
                InputError(where, "no supported files in this folder", f"add files ending in {_suffix_list()}")
            )
        return files
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        errors.append(_unsupported(where))
        return []
    if not stat.S_ISREG(info.st_mode):
        errors.append(_special_file(where, info.st_mode))
        return []
    return [(path, (info.st_dev, info.st_ino))]


def _folder_files(folder: Path, errors: list[InputError]) -> list[tuple[Path, tuple[int, int]]]:
    def unreadable(error: OSError) -> None:
        where = shown_path(error.filename) if error.filename else shown_path(folder)
        errors.append(InputError(where, f"cannot list the folder: {error.strerror}", "check permissions"))

    found = []
    # Symbolic links to folders are not followed (no loops); links to files are.
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            path = Path(dirpath, name)
            try:
                info = os.stat(path)
            except OSError as error:
                errors.append(_stat_error(path, shown_path(path), error, explicit=False))
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((path, (info.st_dev, info.st_ino)))
            elif not stat.S_ISDIR(info.st_mode):
                errors.append(_special_file(shown_path(path), info.st_mode))
    return sorted(found, key=lambda item: item[0].relative_to(folder).parts)


def _stat_error(path: Path, where: str, error: OSError, *, explicit: bool) -> InputError:
    if error.errno == errno.ELOOP:
        return InputError(where, "a symbolic link loop (the link leads back to itself); skipped",
                          "point the link at a real file or remove it")
    if os.path.islink(path):
        try:
            target = shown_path(os.readlink(path))
        except OSError:
            target = "?"
        return InputError(where, f"a broken symbolic link (to {target}, which does not exist); skipped",
                          "point the link at a real file or remove it")
    if error.errno == errno.ENOENT:
        return InputError(where, "no such file or folder", "check the path (typo? relative to where?)")
    problem = f"cannot read {'the path' if explicit else 'the file'}: {error.strerror}"
    return InputError(where, problem, "check the path and its permissions")


def _special_file(where: str, mode: int) -> InputError:
    kinds = [(stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return InputError(where, f"{kind}, not a regular file; skipped without reading it",
                      "give a regular file of articles (remove the pipe, device or link)")


def _unsupported(where: str) -> InputError:
    return InputError(where, "unsupported file type", f"use one of {_suffix_list()}")


def _unexpected(where: str, error: BaseException) -> InputError:
    if isinstance(error, RecursionError):
        return InputError(where, "nested too deeply to be read", "flatten the file's structure")
    if isinstance(error, MemoryError):
        return InputError(where, "too large to be read in memory", "split the file into smaller ones")
    detail = " ".join(str(error).split())[:200]
    return InputError(where, f"could not be read ({type(error).__name__}: {detail})",
                      "check that the file is what its suffix says; the other files were read")


def _suffix_list() -> str:
    return ", ".join(SUPPORTED_SUFFIXES)


def _read_text(path: Path, where: str, max_bytes: int) -> str:
    """The file's text. Only a regular file is read (checked on the open descriptor, which is
    opened non-blocking so that a FIFO swapped in after listing cannot hang), at most ``max_bytes``."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(where, _special_file(where, info.st_mode).problem, "give a regular file of articles")
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise _stat_error(path, where, error, explicit=False) from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _special_file(where, info.st_mode)
        if info.st_size > max_bytes:
            raise _too_large(where, info.st_size, max_bytes)
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            raise InputError(where, f"cannot read the file: {error.strerror}",
                             "check the path and its permissions") from None
    if len(data) > max_bytes:
        raise _too_large(where, len(data), max_bytes)
    for mark, encoding in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                           (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(mark):
            raise InputError(where, f"{encoding} text (it starts with a {encoding} byte order mark), not UTF-8",
                             f"save the file as UTF-8 (e.g. iconv -f {encoding.lower()} -t utf-8)")
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
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise InputError(where, f"binary data, not text: a NUL character on line {line}",
                         "give a text file of articles (UTF-8)")
    return text


def _too_large(where: str, size: int, limit: int) -> InputError:
    return InputError(where, f"{size / 2**20:.1f} MB is over the {limit / 2**20:g} MB limit for this kind of file",
                      "split it into smaller files")


def _json_nesting(text: str) -> tuple[int, int]:
    """(Deepest nesting of arrays and objects, at which byte), found without parsing, in linear time."""
    if text.count("[") + text.count("{") <= MAX_JSON_NESTING:
        return 0, 0  # too few brackets to nest that deep
    data = _JSON_STRING.sub(b'""', text.encode("utf-8", "surrogatepass"))  # brackets in strings do not count
    codes = np.frombuffer(data, dtype=np.uint8)
    deepest, where, depth = 0, 0, 0
    for start in range(0, len(codes), 1 << 22):  # in blocks: a few MB of memory whatever the size
        block = codes[start:start + (1 << 22)]
        steps = ((block == 91) | (block == 123)).astype(np.int8) - ((block == 93) | (block == 125)).astype(np.int8)
        levels = np.cumsum(steps, dtype=np.int64) + depth  # 91 [, 123 {, 93 ], 125 }
        top = int(levels.argmax())
        if levels[top] > deepest:
            deepest, where = int(levels[top]), start + top
        depth = int(levels[-1])
    return deepest, where


def _check_json_nesting(text: str, where: str, line: int | None = None) -> None:
    depth, _ = _json_nesting(text)
    if depth > MAX_JSON_NESTING:
        at = f" (line {line})" if line else ""
        raise InputError(where, f"JSON nested {depth} deep{at}; an article is at most {MAX_JSON_NESTING} deep",
                         "give articles as flat objects of text fields")


# --- formats -------------------------------------------------------------------------------

Item = Article | InputError


def _read_json(text: str, where: str) -> Iterator[Item]:
    _check_json_nesting(text, where)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        yield InputError(
            where,
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            "fix the JSON there (python -m json.tool FILE points at the first problem)",
        )
        return
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        yield InputError(where, f"invalid JSON: {_json_value_error(error)}", "fix the JSON (python -m json.tool FILE)")
        return
    if isinstance(data, dict) and "articles" in data:
        data = data["articles"]
        if not isinstance(data, list):
            problem = f'"articles" is a JSON {_kind(data)}, not a list'
            yield InputError(where, problem, 'make "articles" a list of objects')
            return
    if isinstance(data, list):
        if not data:
            yield InputError(where, "the file holds no articles (an empty list)", "add articles or remove the file")
        for index, record in enumerate(data):
            yield _guarded_record(record, f"{where}[{index}]")
    elif isinstance(data, dict):
        yield _guarded_record(data, where)
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
        here = f"{where}:{number}"
        try:
            _check_json_nesting(line, here)
            record = json.loads(line)
        except InputError as error:
            yield error
            continue
        except json.JSONDecodeError as error:
            yield InputError(
                here,
                f"invalid JSON at column {error.colno}: {error.msg}",
                "fix the line or remove it: each line must be one JSON object",
            )
            continue
        except (ValueError, RecursionError) as error:
            yield InputError(here, f"invalid JSON: {_json_value_error(error)}",
                             "fix the line or remove it: each line must be one JSON object")
            continue
        yield _guarded_record(record, here)


def _json_value_error(error: BaseException) -> str:
    if "integer string conversion" in str(error):
        return "a number of more than 4,300 digits"
    return " ".join(str(error).split())[:200]


def _read_markdown(text: str, where: str) -> Iterator[Item]:
    yield _text_article(text, where, markdown=True)


def _read_plain_text(text: str, where: str) -> Iterator[Item]:
    yield _text_article(text, where, markdown=False)


def _read_html(text: str, where: str) -> Iterator[Item]:
    try:
        page = parse_html(text)
    except HtmlTooComplex as error:
        yield InputError(where, f"not read: {error}", "give the article's own page, not generated markup")
        return
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
    # The main text by trafilatura when it finds enough of it (it leaks far less boilerplate:
    # docs/research/extraction.md); else what the hand-written extractor kept. Metadata from the latter.
    from assistant.live.pages import main_text

    body = main_text(text, page.meta.get("url") or "", [page.title]) or page.body
    record = {"title": page.title, "body": body, **page.meta}
    yield _guarded_record(record, where, labels=page.fields_from)


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
        if markdown and len(title) <= MAX_TITLE_CHARS:
            heading = _ATX_HEADING.fullmatch(title)
            title = heading.group(1) if heading else title
            underline, newline, after = body.partition("\n")
            if newline and _SETEXT_UNDERLINE.fullmatch(underline):
                body = after
        record["title"] = title
        body = _LEADING_BLANK_LINES.sub("", body)
    elif markdown:
        # The front matter has the title: a heading opening the text is that title again, not a
        # sentence of the story (kept, it is read as one with the first sentence).
        first, newline, after = body.partition("\n")
        if len(first) <= MAX_TITLE_CHARS and _ATX_HEADING.fullmatch(first.strip()):
            body = _LEADING_BLANK_LINES.sub("", after)
        else:
            underline, newline2, after2 = after.partition("\n")
            if newline and first.strip() and len(first) <= MAX_TITLE_CHARS and _SETEXT_UNDERLINE.fullmatch(underline):
                body = _LEADING_BLANK_LINES.sub("", after2 if newline2 else "")
    record["body"] = body
    return _guarded_record(record, where)


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

    Body may be under ``body``, ``text`` or ``content``, the title under ``title`` or ``headline``
    (when neither is given, the title is the body's first sentence: :func:`lead_title`, as a text
    file's first line is), and the date under ``published_at`` or ``date``. Metadata is stripped; empty, "None" and "null" become None. ``labels`` names where a
    field came from (e.g. an HTML meta tag) for error messages. Fields are bounded in length, hold
    no lone surrogates or control characters, and a url is an absolute http(s) link.
    """
    if not isinstance(record, dict):
        problem = f"the record is a JSON {_kind(record)}, not an object"
        return InputError(where, problem, 'make it an object {"title": ..., "body": ...}')
    labels = labels or {}
    problems: list[tuple[str, str]] = []
    given = next((record[k] for k in TITLE_KEYS if record.get(k) is not None), None)
    untitled = given is None or (isinstance(given, str) and not given.strip())
    title = "" if untitled else _required_text(record, TITLE_KEYS, problems)
    _check_text(title, "title", MAX_TITLE_CHARS, problems)
    body = _required_text(record, BODY_KEYS, problems, strip=False)
    _check_text(body, "body", MAX_BODY_CHARS, problems)
    if untitled and body and not problems:
        title = lead_title(strip_furniture(body).text)  # not a byline or a caption
    meta: dict[str, str | None] = {}
    for key in META_KEYS:
        label = labels.get(key, key)
        meta[key] = _optional_text(record.get(key), label, problems)
        _check_text(meta[key], label, MAX_META_CHARS, problems)
    if meta["url"] and not problems and not web_url(meta["url"]):
        problems.append((f"{labels.get('url', 'url')!r} is not a web link: {_clipped(meta['url'])}",
                         "give the article's http:// or https:// address, or remove the url"))
    meta["published_at"] = _date(record, labels.get("published_at"), problems)
    if problems:
        return InputError(where, "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    # Page furniture (captions, credits, "Read more" links, embeds, bylines) out of the body.
    return clean_article(Article(title=title, body=body, origin=where, **meta))


def lead_title(body: str) -> str:
    """A title for an untitled article (a paragraph from a news dataset, say): its first sentence,
    cut after :data:`LEAD_TITLE_WORDS` words — a news lead says what the story is about."""
    from assistant.text.sentences import split_sentences

    spans = split_sentences(body)
    first = body[spans[0][0]:spans[0][1]] if spans else body
    words = first.split()
    title = " ".join(words[:LEAD_TITLE_WORDS]) + ("…" if len(words) > LEAD_TITLE_WORDS else "")
    return title[:MAX_TITLE_CHARS]


def _guarded_record(record: object, where: str, labels: dict[str, str] | None = None) -> Item:
    """:func:`article_from_record`, with anything unforeseen reported against the record."""
    try:
        return article_from_record(record, where, labels)
    except Exception as error:  # noqa: BLE001 - one record never stops the others
        return _unexpected(where, error)


def _check_text(value: str | None, label: str, limit: int, problems: list) -> None:
    if not value:
        return
    if len(value) > limit:
        problems.append((f"{label!r} is {len(value):,} characters long, over the limit of {limit:,}",
                         f"shorten {label!r} (is another field's text in it?)"))
        return
    bad = _SURROGATE.search(value)
    if bad:
        problems.append((f"{label!r} holds a lone surrogate {ascii(bad.group())[1:-1]} at character {bad.start()} "
                         "(half of a broken \\u escape pair), which is not text",
                         f"write the character itself in {label!r}, or a complete \\uD83D\\uDE00 pair"))
        return
    bad = _CONTROL.search(value)
    if bad:
        problems.append((f"{label!r} holds the control character {ascii(bad.group())[1:-1]} at character "
                         f"{bad.start()}", f"remove it from {label!r}"))


def _clipped(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


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
    except ValueError as error:
        shown = _clipped(value) if isinstance(value, str) else repr(value)
        if "unparseable" in str(error):
            problem = f"unparseable date in {label or key!r}: {shown}"
        else:
            why = ("it falls outside the years 1-9999 once converted to UTC" if "UTC" in str(error)
                   else "out of range for epoch seconds")
            problem = f"date in {label or key!r} out of range: {shown} ({why})"
        problems.append((problem, f"write it as {EXPECTED_DATES}, or remove it"))
        return None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), type(value).__name__)
