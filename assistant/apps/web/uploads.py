"""Article files uploaded through the web chat or the REST API: checked, read, indexed.

Uploads are read from wherever the server saved them, but every article and error names the
file as the user called it (``upload:report.json[2]``), never a temporary path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.indexer import IngestReport
from assistant.ingest.readers import SUPPORTED_SUFFIXES, read_file
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


def upload_name(filename: str | None) -> str:
    """The file's base name without control characters or folders, at most 200 characters."""
    name = _UNSAFE.sub("_", Path((filename or "").replace("\\", "/")).name).strip(" .")
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


def read_uploads(uploads: list[Upload], settings) -> tuple[list[Article], list[InputError]]:
    """Articles of the acceptable files, and one error per bad file or record."""
    articles: list[Article] = []
    errors: list[InputError] = []
    for upload in uploads:
        problem = file_problem(upload, settings)
        if problem is not None:
            errors.append(problem)
            continue
        result = read_file(upload.path)
        shown = f"upload:{upload.name}"
        for article in result.articles:
            article.origin = _rename(article.origin, upload.path, shown)
        for error in result.errors:
            errors.append(InputError(_rename(error.where, upload.path, upload.name), error.problem, error.fix))
        articles.extend(result.articles)
    return articles, errors


def ingest_uploads(assistant, uploads: list[Upload], settings, progress=None) -> UploadReport:
    """Index the readable articles of ``uploads``; bad files and records are listed, not fatal."""
    articles, errors = read_uploads(uploads, settings)
    report = assistant.indexer.ingest_articles(articles, progress=progress or False)
    assistant.bm25.ensure_fresh()  # so the first question after an upload is not the slow one
    report.files = len(uploads)
    report.errors = errors + report.errors
    report.failed = len(report.errors)
    return UploadReport(report, articles)


def _rename(where: str, path: Path, shown: str) -> str:
    return shown + where[len(str(path)):] if where.startswith(str(path)) else where
