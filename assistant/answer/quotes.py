"""Who said what: every statement the corpus attributes to a person, verbatim, with its article.

``QuoteFinder(store, embedder).quotes("Zhelikhovsky", about="China")`` reads the indexed articles
(bodies from the article table, :meth:`~assistant.index.store.ChunkStore.article_records`),
attributes their sentences (:func:`~assistant.answer.attribution.attribute`) and returns each
sentence whose speaker the name matches — word for word, accents and case ignored, as questions
match speakers (:func:`~assistant.query.questions.names_match`: "Zhelikhovsky" and "Stanislav
Zhelikhovsky" find "Stanislav Zhelikhovsky"). Each :class:`Quote` holds the sentence exactly as
the article has it (``sentence == body[start:end]``; ``shown``: the same with the quotation marks
it lacks on its own, "…" where its quotation runs on), its span, how it is said (a quotation or
reported speech) and the article's date, outlet, title and link; newest article first, sentences
in reading order. Only articles whose text holds every word of the name are attributed (cached
per article until the index changes).

**About a topic.** A statement is about TOPIC when it shares a content word with it (stemmed,
stop words ignored), or when its embedding is close to the topic's: cosine at least
``topic_floor`` (0.25) and within ``topic_margin`` (0.15) of the person's closest statement.
Measured on the bundled article (its expert's 20 attributed sentences, hand-labelled for 6 topics:
China, negotiations, Putin, weapons, occupied territories, the Constitution —
``tests/test_quotes_cli.py``): precision 0.90, recall 0.79 (F1 0.84); shared words alone 1.00 /
0.58 (0.74); a fixed cosine of 0.35 or shared words 0.89 / 0.67 (0.76). The two constants were
chosen on those same labels, so the figures are optimistic.

**How far to trust an attribution.** :data:`ATTRIBUTION_ACCURACY` (measured by
``python -m assistant.answer.attribution_eval``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.answer.attribution import ArticleSpeech, attribute
from assistant.answer.quotations import balance_marks
from assistant.answer.verification import content_words
from assistant.query.questions import names_match

# python -m assistant.answer.attribution_eval, 2026-11-30 (the figures of docs/answers.md).
ATTRIBUTION_ACCURACY = (
    "speakers are found by rules; python -m assistant.answer.attribution_eval (2026-11-30) gives 95.4% of "
    "175 labelled sentences to the right speaker (or to nobody), 92.9% and 88.9% on the two held-out sets — "
    "which scored 73.8% and 58.3% when first measured, before rules were fixed for them: on articles it has "
    "never seen, expect more misses. Check each sentence in its article before quoting it."
)
ATTRIBUTION_ACCURACY_SHORT = "95.4% of 175 labelled sentences right; 58–74% on unseen articles when first measured"


@dataclass
class Quote:
    """One statement of a person: the article's sentence verbatim, where it is, who says it how."""

    speaker: str
    sentence: str  # == the article body[start:end]
    start: int
    end: int
    kind: str  # "quote" (inside quotation marks) or "reported" (X said that …, according to X …)
    cue: str  # the words that name the speaker: "he said", "the international affairs expert noted"
    role: str | None
    article_id: str
    title: str
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    url: str | None = None
    score: float | None = None  # similarity to the topic asked about, if any
    shown: str = ""  # the sentence to show on its own: its quotation marks completed, "…" where the quotation runs on

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Article:
    article_id: str
    meta: dict
    body: str
    words: set[str] = field(default_factory=set)  # folded words of the body, for the name pre-check


class QuoteFinder:
    """Statements attributed to a person across the indexed articles (see the module docstring)."""

    def __init__(self, store, embedder=None, topic_floor: float = 0.25, topic_margin: float = 0.15,
                 cache_size: int = 256):
        self.store = store
        self.embedder = embedder  # None: topics by shared words only
        self.topic_floor = topic_floor
        self.topic_margin = topic_margin
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._articles_at: tuple[int, list[_Article]] | None = None  # (index revision, articles)
        self._speech: OrderedDict[tuple[str, int], ArticleSpeech] = OrderedDict()
        self._vectors: dict[tuple[str, int, int], np.ndarray] = {}

    # --- the corpus ----------------------------------------------------------------------
    def articles(self) -> list[_Article]:
        """The indexed articles with their bodies, newest first (undated last); rebuilt when the
        index's revision changes."""
        revision = self.store.revision
        with self._lock:
            if self._articles_at is not None and self._articles_at[0] == revision:
                return self._articles_at[1]
        articles = [_Article(r.article_id, r.fields(), r.body or "", set(_fold(r.body or "").split()))
                    for r in self.store.article_records(bodies=True)]
        articles.sort(key=lambda a: (a.meta.get("published_at") or "", a.meta.get("title") or ""), reverse=True)
        with self._lock:
            self._articles_at = (revision, articles)
            self._speech.clear()
            self._vectors.clear()
        return articles

    def _speech_of(self, article: _Article) -> ArticleSpeech:
        key = (article.article_id, hash(article.body))
        with self._lock:
            if key in self._speech:
                self._speech.move_to_end(key)
                return self._speech[key]
        speech = attribute(article.body)
        with self._lock:
            self._speech[key] = speech
            while len(self._speech) > self.cache_size:
                self._speech.popitem(last=False)
        return speech

    # --- who said what -------------------------------------------------------------------
    def quotes(self, person: str, about: str | None = None) -> list[Quote]:
        """Every statement attributed to ``person`` (about ``about``, when given)."""
        person = " ".join((person or "").split())
        if not _fold(person).split():
            raise ValueError("the person is blank; write a name, e.g. Zhelikhovsky")
        asked = _fold(person).split()
        found: list[Quote] = []
        for article in self.articles():
            if not all(word in article.words for word in asked):
                continue
            speech = self._speech_of(article)
            for span, attribution in zip(speech.sentences, speech.attributions):
                sentence = article.body[span.start:span.end]
                # A sentence that only says who spoke ("This opinion was expressed … by X") is the
                # journalist's, not a statement of X: the statement is the sentence it points back to.
                if (attribution.speaker and not attribution.frame and names_match(person, attribution.speaker)
                        and re.search(r"\w", sentence)):
                    found.append(_quote(article, speech, span.start, span.end, sentence, attribution))
        about = " ".join((about or "").split())
        return self._about(found, about) if about else found

    def speakers(self, newest: int = 8, limit: int = 8) -> list[tuple[str, int]]:
        """(speaker, statements) most quoted first, over the ``newest`` articles — examples to offer."""
        counts: dict[str, int] = {}
        for article in self.articles()[:newest]:
            for attribution in self._speech_of(article).attributions:
                if attribution.speaker:
                    counts[attribution.speaker] = counts.get(attribution.speaker, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]

    # --- topics ---------------------------------------------------------------------------
    def _about(self, found: list[Quote], topic: str) -> list[Quote]:
        words = content_words(topic)
        sims = self._similarities(found, topic)
        best = max(sims, default=0.0)
        kept = []
        for quote, sim in zip(found, sims):
            close = self.embedder is not None and sim >= max(self.topic_floor, best - self.topic_margin)
            if (words and words & content_words(quote.sentence)) or close:
                quote.score = round(float(sim), 4) if self.embedder is not None else None
                kept.append(quote)
        return kept

    def _similarities(self, found: list[Quote], topic: str) -> list[float]:
        if self.embedder is None or not found:
            return [0.0] * len(found)
        keys = [(q.article_id, q.start, q.end) for q in found]
        with self._lock:
            missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        vectors = self.embedder.embed([topic] + [found[i].sentence for i in missing])
        with self._lock:
            for i, vector in zip(missing, vectors[1:]):
                self._vectors[keys[i]] = vector
            matrix = np.stack([self._vectors[key] for key in keys])
        return [float(x) for x in matrix @ vectors[0]]


def _quote(article: _Article, speech: ArticleSpeech, start: int, end: int, sentence: str, attribution) -> Quote:
    meta = article.meta
    return Quote(speaker=attribution.speaker, sentence=sentence, start=start, end=end, kind=attribution.kind,
                 cue=attribution.cue, role=speech.role_of(attribution.speaker), article_id=article.article_id,
                 title=meta.get("title") or "", source=meta.get("source") or None, author=meta.get("author") or None,
                 published_at=meta.get("published_at") or None, url=meta.get("url") or None,
                 shown=balance_marks(sentence, speech.open_quotation(start), ellipsis=True))


def _fold(text: str) -> str:
    """Lower case, accents and punctuation dropped, as :func:`~assistant.query.questions.names_match` reads names."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9\s\-]", " ", plain)


_FINDERS_LOCK = threading.Lock()


def finder_for(assistant) -> QuoteFinder:
    """The :class:`QuoteFinder` of an :class:`~assistant.service.Assistant` (made once, kept on it,
    so its caches serve every request)."""
    with _FINDERS_LOCK:
        finder = assistant.__dict__.get("_quote_finder")
        if finder is None or finder.store is not assistant.store:
            finder = QuoteFinder(assistant.store, getattr(assistant.indexer, "embedder", None))
            assistant.__dict__["_quote_finder"] = finder
        return finder
