"""Chunking: runs of whole sentences within a word-piece budget, overlapping by whole sentences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assistant.models import Article, Chunk
from assistant.text.sentences import Span, split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]


class SentenceChunker:
    """Packs an article's sentences into chunks of at most ``max_tokens`` word pieces.

    A sentence is never cut unless it alone exceeds the budget (then it is split at spaces).
    Consecutive chunks share their boundary sentences, up to ``overlap_tokens``.
    """

    def __init__(self, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int = 48):
        if max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError(f"overlap_tokens must be in [0, {max_tokens}), got {overlap_tokens}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def chunk(self, article: Article, reserved_tokens: int = 0) -> list[Chunk]:
        """Chunks of ``article.body``; ``reserved_tokens`` are kept free (e.g. for the title)."""
        budget = max(16, self.max_tokens - reserved_tokens)
        body = article.body
        spans = self._fit(body, split_sentences(body), budget)
        if not spans:
            return []
        # +1 per sentence: the space joining it to its neighbour can cost a word piece.
        sizes = [n + 1 for n in self.count_tokens([body[s:e] for s, e in spans])]
        chunks: list[Chunk] = []
        first = 0
        while first < len(spans):
            last, used = first, sizes[first]
            while last + 1 < len(spans) and used + sizes[last + 1] <= budget:
                last += 1
                used += sizes[last]
            start, end = spans[first].start, spans[last].end
            chunks.append(Chunk(id=f"{article.id}:{len(chunks)}", article_id=article.id,
                                position=len(chunks), text=body[start:end], start=start, end=end))
            if last + 1 >= len(spans):
                break
            first = self._next_first(first, last, sizes, budget)
        return chunks

    def _next_first(self, first: int, last: int, sizes: list[int], budget: int) -> int:
        """Start of the next chunk: step back over trailing sentences within the overlap budget."""
        nxt, carried = last + 1, 0
        while nxt - 1 > first and carried + sizes[nxt - 1] <= self.overlap_tokens:
            nxt -= 1
            carried += sizes[nxt]
        # Always carry the boundary sentence when it leaves room for progress: a fact that the
        # splitter cut in two then still lies whole in one chunk.
        if nxt == last + 1 and last > first and sizes[last] + sizes[last + 1] <= budget:
            nxt = last
        # Carrying more than fits beside the next sentence would only repeat the last chunk.
        if nxt <= last and sum(sizes[nxt:last + 2]) > budget:
            nxt = last if sizes[last] + sizes[last + 1] <= budget else last + 1
        return nxt

    def _fit(self, body: str, spans: list[Span], budget: int) -> list[Span]:
        """Split the rare sentence longer than the budget at spaces."""
        sizes = self.count_tokens([body[s:e] for s, e in spans]) if spans else []
        out: list[Span] = []
        for span, size in zip(spans, sizes):
            if size < budget:
                out.append(span)
                continue
            words = [m for m in _words(body, span)]
            per = max(1, int(len(words) * (budget * 0.8) / size))
            for i in range(0, len(words), per):
                piece = words[i:i + per]
                out.append(Span(piece[0][0], piece[-1][1]))
        return out


def _words(body: str, span: Span) -> list[tuple[int, int]]:
    words, i = [], span.start
    while i < span.end:
        while i < span.end and body[i].isspace():
            i += 1
        j = i
        while j < span.end and not body[j].isspace():
            j += 1
        if j > i:
            words.append((i, j))
        i = j
    return words
