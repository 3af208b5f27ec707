"""Reading articles from files and folders: ``read_paths(["corpus/"])``."""

from assistant.ingest.dates import normalize_date
from assistant.ingest.readers import SUPPORTED_SUFFIXES, ReadResult, read_file, read_paths

__all__ = ["SUPPORTED_SUFFIXES", "ReadResult", "normalize_date", "read_file", "read_paths"]
