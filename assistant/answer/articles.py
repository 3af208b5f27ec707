"""Whole-article context for answers: article bodies rebuilt from their chunks, and who speaks where.

Attribution needs more than the retrieved passage ("he said" points back to a name two
paragraphs earlier), so the answerer asks for the article. Bodies are rebuilt from the stored
chunks at their character offsets (chunks overlap; a gap between two chunks is whitespace
between sentences, written back as a paragraph break when it was longer than one character).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from assistant.models import Passage
from assistant.answer.attribution import ArticleSpeech, attribute

ChunkSource = Callable[[str], list]  # article id -> stored chunks (``.text`` and ``.metadata`` start/end)


def rebuild_body(chunks: list) -> str:
    """The article body from chunks carrying ``metadata["start"/"end"]`` (body offsets)."""
    if not chunks:
        return ""
    length = max(int(c.metadata["end"]) for c in chunks)
    chars = [None] * length
    for chunk in chunks:
        start = int(chunk.metadata["start"])
        for i, ch in enumerate(chunk.text):
            if start + i < length:
                chars[start + i] = ch
    out, i = [], 0
    while i < length:
        if chars[i] is not None:
            out.append(chars[i])
            i += 1
            continue
        j = i
        while j < length and chars[j] is None:
            j += 1
        gap = j - i
        out.append(" " if gap == 1 else "\n" + " " * (gap - 2) + "\n")
        i = j
    return "".join(out)


class ArticleContext:
    """Article bodies and their attributions, cached (most recent ``size`` articles).

    ``chunks_of`` reads an article's chunks (``ChunkStore.article_chunks``); without it, only
    what the passages themselves contain is known.
    """

    def __init__(self, chunks_of: ChunkSource | None = None, size: int = 64):
        self.chunks_of = chunks_of
        self.size = size
        self._cache: OrderedDict[str, ArticleSpeech] = OrderedDict()

    def speech(self, passage: Passage) -> ArticleSpeech:
        """Attributions for the article of ``passage``; offsets are article-body offsets."""
        key = passage.article_id
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        body = ""
        if self.chunks_of is not None:
            body = rebuild_body(self.chunks_of(passage.article_id))
        if len(body) < passage.end or body[passage.start:passage.end] != passage.text:
            # Unknown article: the passage alone, placed at its offset.
            body = " " * passage.start + passage.text
        speech = attribute(body)
        self._cache[key] = speech
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return speech
