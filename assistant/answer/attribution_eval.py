"""Attribution accuracy over a labelled set of sentences (``tests/data/quotes.jsonl``).

Each line: ``{"corpus": "bundled"|"multihop", "title", "url"?, "sentence", "speaker"}``; the
article is looked up at run time (the bundled corpus folder or MultiHop-RAG's corpus.json), the
sentence located in its body, and ``attribute`` asked who speaks there. A prediction is right
when it equals the label, ignoring case and accents (``None`` = nobody speaks).

    python -m assistant.answering.attribution_eval tests/data/quotes.jsonl
"""

from __future__ import annotations

import json
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.answer.attribution import attribute


@dataclass
class Labelled:
    corpus: str
    title: str
    sentence: str
    speaker: str | None
    url: str | None = None
    split: str = "dev"  # "dev": looked at while writing the rules; "holdout": labelled, then measured once


@dataclass
class Outcome:
    item: Labelled
    predicted: str | None
    found: bool

    @property
    def correct(self) -> bool:
        return self.found and _norm(self.predicted) == _norm(self.item.speaker)


def load_labels(path: Path) -> list[Labelled]:
    items = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(Labelled(row["corpus"], row["title"], row["sentence"], row.get("speaker"), row.get("url"),
                                  row.get("split", "dev")))
    return items


def bundled_bodies(corpus_dir: Path) -> dict[str, str]:
    """Title -> body of the bundled plain-text articles (first line is the title)."""
    out = {}
    for path in sorted(Path(corpus_dir).glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        out[title.strip()] = body.lstrip("\n")
    return out


def multihop_bodies(corpus_json: Path) -> dict[str, str]:
    """URL and title -> body of the MultiHop-RAG articles."""
    out = {}
    for article in json.loads(Path(corpus_json).read_text(encoding="utf-8")):
        out[article["url"]] = article["body"]
        out.setdefault(article["title"], article["body"])
    return out


def evaluate(items: list[Labelled], bodies: dict[str, dict[str, str]]) -> list[Outcome]:
    """Outcomes for the items whose corpus is in ``bodies`` (corpus name -> key -> body)."""
    cache: dict[str, object] = {}
    outcomes = []
    for item in items:
        corpus = bodies.get(item.corpus)
        if corpus is None:
            continue
        body = corpus.get(item.url or "") or corpus.get(item.title)
        at = body.find(item.sentence) if body else -1
        if at < 0:
            outcomes.append(Outcome(item, None, False))
            continue
        key = f"{item.corpus}:{item.url or item.title}"
        if key not in cache:
            cache[key] = attribute(body)
        speech = cache[key]
        outcomes.append(Outcome(item, speech.at(at, at + len(item.sentence)).speaker, True))
    return outcomes


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.correct for o in outcomes) / len(outcomes) if outcomes else 0.0


def summary(outcomes: list[Outcome]) -> dict:
    """Accuracy overall, on sentences with a speaker, and per split."""
    def block(items):
        speech = [o for o in items if o.item.speaker is not None]
        return {"sentences": len(items), "accuracy": round(accuracy(items), 4),
                "quotes": len(speech), "quote_accuracy": round(accuracy(speech), 4)}
    out = {"all": block(outcomes)}
    for split in sorted({o.item.split for o in outcomes}):
        out[split] = block([o for o in outcomes if o.item.split == split])
    return out


def _norm(name: str | None) -> str | None:
    if name is None:
        return None
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


def main(argv: list[str] | None = None) -> int:
    import argparse

    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description="Attribution accuracy over labelled quotes.")
    parser.add_argument("labels", type=Path, nargs="?", default=root / "tests" / "data" / "quotes.jsonl")
    parser.add_argument("--corpus-dir", type=Path, default=root / "corpus")
    parser.add_argument("--multihop", type=Path, default=root.parent / "shared" / "data" / "multihop-rag" / "corpus.json")
    parser.add_argument("-v", "--verbose", action="store_true", help="List the wrong ones.")
    args = parser.parse_args(argv)
    bodies = {"bundled": bundled_bodies(args.corpus_dir)}
    if args.multihop.exists():
        bodies["multihop"] = multihop_bodies(args.multihop)
    outcomes = evaluate(load_labels(args.labels), bodies)
    print(json.dumps({"corpora": sorted(bodies), "not_found": sum(not o.found for o in outcomes),
                      **summary(outcomes)}, indent=2))
    if args.verbose:
        for o in outcomes:
            if not o.correct:
                print(f"  [{o.item.split}] want {o.item.speaker!r:26} got {o.predicted!r:26} | {o.item.sentence[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
