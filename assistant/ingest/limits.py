"""How much of an untrusted input is read: file sizes, nesting, and the length of each field.

Shared by the file readers (assistant.ingest.readers) and the live readers of feeds and pages
(assistant.live), so an article is bounded the same way however it arrives.
"""

# Largest file read: collections of articles (.json, .jsonl) and single articles (the others).
MAX_FILE_BYTES = {".json": 100 * 2**20, ".jsonl": 100 * 2**20}
MAX_ARTICLE_FILE_BYTES = 16 * 2**20
MAX_JSON_NESTING = 64  # an article file nests 3 deep; Python's parser fails near 1,000
MAX_TITLE_CHARS = 1_000
MAX_META_CHARS = 2_000  # source, author, url, category
MAX_BODY_CHARS = 2_000_000  # about 300,000 words
MAX_LISTED_ERRORS = 50  # per file; further bad records are counted in one MoreErrors
