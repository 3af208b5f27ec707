"""Article files uploaded through the web chat or the REST API: checked, read, indexed.

Uploads are read from wherever the server saved them, but every article and error names the
file as the user called it (``upload:report.json[2]``), never a temporary path.

The slow parts are kept apart from writing: :func:`prepare_uploads` reads the files (parsing
untrusted input) and embeds their new articles before the index's write lock is taken, so that
neither a hostile file nor a large upload holds up questions; :func:`ingest_uploads`, run under
the lock, then only writes (and embeds whatever was not ready). A file that cannot be read is one
error in the report, never the end of the upload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.errors import InputError, MoreErrors
from assistant.ingest.indexer import EmbeddedAhead, IngestReport, failures
from assistant.ingest.readers import SUPPORTED_SUFFIXES, ReadResult, read_file, shown_path
from assistant.models import Article

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


class UnsupportedFile(InputError):
    """An uploaded file's type is not one the readers know."""


class UploadTooLarge(InputError):
    """An upload has too many bytes or too many files."""


@dataclass(frozen=True)
class Upload:
    name: str  # as the user called the file; shown in reports
    path: Path  # where its bytes are now
    size: int
    read: ReadResult | None = None  # what the file holds, once read (names as uploaded)
    ahead: EmbeddedAhead | None = None  # its new articles' chunks and vectors, once embedded


def upload_name(filename: str | None) -> str:
    """The file's base name without control characters or folders, at most 200 characters."""
    name = _UNSAFE.sub("_", Path(shown_path(filename or "").replace("\\", "/")).name).strip(" .")
    return name[-200:] or "upload"


def max_upload_bytes(settings) -> int:
    return int(settings.max_upload_mb * 1024 * 1024)


def file_problem(upload: Upload, settings) -> InputError | None:
    """Why this one file cannot be indexed, or None."""
    if Path(upload.name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return UnsupportedFile(upload.name, "unsupported file type", f"upload one of {', '.join(SUPPORTED_SUFFIXES)}")
    if upload.size > max_upload_bytes(settings):
        return UploadTooLarge(upload.name, f"{upload.size / 1e6:.1f} MB is over the {settings.max_upload_mb:g} MB limit",
                              "split the file or raise ASSISTANT_MAX_UPLOAD_MB")
    return None


def check_uploads(uploads: list[Upload], settings) -> None:
    """Raise the first reason to refuse the whole upload (for the API: all or nothing)."""
    if not uploads:
        raise InputError("files", "no files uploaded", "send one or more files in the multipart field 'files'")
    if len(uploads) > settings.max_upload_files:
        raise UploadTooLarge("files", f"{len(uploads)} files; at most {settings.max_upload_files} per upload",
                             "upload fewer files at once or raise ASSISTANT_MAX_UPLOAD_FILES")
    total = sum(u.size for u in uploads)
    if total > max_upload_bytes(settings):
        raise UploadTooLarge("files", f"{total / 1e6:.1f} MB in all is over the {settings.max_upload_mb:g} MB limit",
                             "upload fewer files at once or raise ASSISTANT_MAX_UPLOAD_MB")
    for upload in uploads:
        problem = file_problem(upload, settings)
        if problem is not None:
            raise problem


@dataclass
class UploadReport:
    """What indexing the uploads did, and the articles read from them."""

    report: IngestReport
    articles: list[Article] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = self.report.as_dict()
        data["uploaded"] = [{"id": a.id, "title": a.title, "origin": a.origin} for a in self.articles]
        return data


def read_upload_files(uploads: list[Upload], settings) -> list[Upload]:
    """The uploads with their contents read (no lock needed: nothing in the index changes).

    Call it before :func:`ingest_uploads` (or ``SharedAssistant.ingest_uploads``) so that parsing
    happens outside the write lock; an upload not read here is read there.
    """
    return [upload if upload.read is not None else replace(upload, read=_read_one(upload, settings))
            for upload in uploads]


def prepare_uploads(indexer, uploads: list[Upload], settings) -> list[Upload]:
    """The uploads read and their new articles embedded, all without the write lock.

    Nothing in the index changes; ``ingest_uploads`` (under the lock) then only writes.
    """
    uploads = read_upload_files(uploads, settings)
    ahead = indexer.embed_ahead([article for upload in uploads for article in upload.read.articles])
    prepared = []
    for upload in uploads:
        keys = {(a.id, a.content_hash) for a in upload.read.articles}
        mine = EmbeddedAhead({key: ahead.ready[key] for key in keys if key in ahead.ready})
        prepared.append(replace(upload, ahead=mine))
    return prepared


def _read_one(upload: Upload, settings) -> ReadResult:
    problem = file_problem(upload, settings)
    if problem is not None:
        return ReadResult(errors=[problem], files=1)
    try:
        result = read_file(upload.path)
    except Exception as error:  # noqa: BLE001 - read_file reports problems itself; this is a last guard
        result = ReadResult(errors=[InputError(str(upload.path), f"could not be read ({type(error).__name__})",
                                               "check the file's format")], files=1)
    shown = f"upload:{upload.name}"
    for article in result.articles:
        article.origin = _rename(article.origin, upload.path, shown)
    errors = []
    for error in result.errors:
        where = _rename(error.where, upload.path, upload.name)
        errors.append(MoreErrors(where, error.count, error.fix) if isinstance(error, MoreErrors)
                      else InputError(where, error.problem, error.fix))
    flawed = {_rename(origin, upload.path, shown) for origin in result.flawed}
    return ReadResult(articles=result.articles, errors=errors, files=1, flawed=flawed)


def read_uploads(uploads: list[Upload], settings) -> ReadResult:
    """Articles of the acceptable files, and one error per bad file or record."""
    combined = ReadResult()
    for upload in read_upload_files(uploads, settings):
        combined.extend(upload.read)
    return combined


def ingest_uploads(assistant, uploads: list[Upload], settings, progress=None) -> UploadReport:
    """Index the readable articles of ``uploads``; bad files and records are listed, not fatal.

    Uploads already read (:func:`read_upload_files`) are not read again, nor are articles already
    embedded (:func:`prepare_uploads`) embedded again.
    """
    read = read_uploads(uploads, settings)
    ahead = EmbeddedAhead()
    for upload in uploads:
        ahead = ahead.merged(upload.ahead)
    report = assistant.indexer.ingest_articles(read.articles, progress=progress or False, flawed=read.flawed,
                                               ahead=ahead)
    assistant.bm25.ensure_fresh()  # so the first question after an upload is not the slow one
    report.files = len(uploads)
    report.errors = read.errors + report.errors
    report.failed = failures(report.errors)
    return UploadReport(report, read.articles)


def _rename(where: str, path: Path, shown: str) -> str:
    return shown + where[len(str(path)):] if where.startswith(str(path)) else where
