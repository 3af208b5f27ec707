"""Main-text extraction compared on the fixture news pages: the hand-written extractor
(``assistant.ingest.html_text``), trafilatura alone (defaults, and the options used here) and the
shipped ``assistant.live.pages.extract_article`` (trafilatura, falling back to html_text).

Each page ``tests/data/live/pages/NAME.html`` has ``NAME.json`` beside it: the article's
paragraphs, "neutral" text (headline, standfirst, byline, captions, subheadings: neither counted
as recovered nor as leaked) and every boilerplate segment of four words or more (navigation,
cookie banners, ads, related lists, comments, footers, and text only found inside scripts). A
sentence counts as recovered, or a segment as leaked, when it occurs in the extracted body
(whitespace collapsed). Metadata (title, author, source, date, url) is compared with the
expected values for the two extractors that produce it.

The fixtures were written for these tests (there is no internet here to save real pages), shaped
like the markup of real outlets' templates; see docs/research/extraction.md.

    python -m benchmarks studies extraction [--repeat 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/

import trafilatura  # noqa: E402

from assistant.ingest.dates import normalize_date  # noqa: E402
from assistant.ingest.html_text import parse_html  # noqa: E402
from assistant.live.pages import DATE_OPTIONS, TRAFILATURA_OPTIONS, PageError, extract_article  # noqa: E402

PAGES = ROOT / "tests" / "data" / "live" / "pages"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“A-Z0-9])")
FIELDS = ("title", "author", "source", "published_at", "url")


def load_pages() -> list[dict]:
    pages = []
    for spec_path in sorted(PAGES.glob("*.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        spec["name"] = spec_path.stem
        spec["bytes"] = spec_path.with_suffix(".html").read_bytes()
        spec["text"] = spec["bytes"].decode(spec.get("charset") or "utf-8")
        pages.append(spec)
    return pages


def run_html_text(page: dict) -> tuple[str, dict]:
    parsed = parse_html(page["text"])
    meta = {"title": parsed.title, "author": parsed.meta.get("author"), "source": parsed.meta.get("source"),
            "published_at": _date(parsed.meta.get("published_at")), "url": parsed.meta.get("url")}
    return parsed.body, meta


def run_trafilatura_defaults(page: dict) -> tuple[str, dict]:
    return trafilatura.extract(page["text"], url=page["url"]) or "", {}


def run_trafilatura(page: dict) -> tuple[str, dict]:
    """trafilatura with the options extract_article uses (comments left out), without its ad pruning."""
    doc = trafilatura.bare_extraction(page["text"], url=page["url"], date_extraction_params=dict(DATE_OPTIONS),
                                      **TRAFILATURA_OPTIONS)
    return (doc.text or "") if doc is not None else "", {}


def run_extract_article(page: dict) -> tuple[str, dict]:
    try:
        article = extract_article(page["bytes"], page["url"], charset=page.get("charset"))
    except PageError:
        return "", {}
    return article.body, {field: getattr(article, field) for field in FIELDS}


EXTRACTORS = {
    "html_text (old)": run_html_text,
    "trafilatura, defaults": run_trafilatura_defaults,
    "trafilatura, no comments": run_trafilatura,
    "extract_article (shipped)": run_extract_article,
}
# Pages with no article at all (no NAME.json): what each extractor returns from them.
NO_ARTICLE = ["harbour_gazette_section_front"]


def _date(value: str | None) -> str | None:
    try:
        return normalize_date(value)
    except ValueError:
        return None


def _squash(text: str) -> str:
    return " ".join(text.split())


def score(page: dict, body: str, meta: dict) -> dict:
    flat = _squash(body).replace("\\|", "|")  # trafilatura escapes "|" inside table cells
    sentences = [s for paragraph in page["article"] for s in SENTENCE.split(_squash(paragraph))]
    recovered = sum(s in flat for s in sentences)
    leaked = [b for b in page["boilerplate"] if _squash(b) in flat]
    fields_right = [f for f in FIELDS if meta and meta.get(f) == page["expect"].get(f)]
    fields_wrong = {f: meta.get(f) for f in FIELDS if meta and f not in fields_right}
    return {"sentences": len(sentences), "recovered": recovered, "boilerplate": len(page["boilerplate"]),
            "leaked": len(leaked), "leaked_examples": leaked[:3], "fields_right": fields_right if meta else None,
            "fields_wrong": fields_wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing runs per page and extractor (median kept)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    pages = load_pages()
    for page in pages:  # warm up imports and caches
        for run in EXTRACTORS.values():
            run(page)
    results: dict[str, dict] = {}
    for name, run in EXTRACTORS.items():
        per_page, times = {}, []
        for page in pages:
            body, meta = run(page)
            per_page[page["name"]] = score(page, body, meta)
            samples = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                run(page)
                samples.append(time.perf_counter() - start)
            times.append(statistics.median(samples))
        totals = {key: sum(p[key] for p in per_page.values()) for key in ("sentences", "recovered", "boilerplate",
                                                                           "leaked")}
        fields = [len(p["fields_right"]) for p in per_page.values() if p["fields_right"] is not None]
        results[name] = {"pages": per_page, **totals, "recall": totals["recovered"] / totals["sentences"],
                         "leak": totals["leaked"] / totals["boilerplate"],
                         "fields_right": sum(fields) if fields else None, "fields": len(fields) * len(FIELDS) or None,
                         "ms_per_page": 1000 * statistics.mean(times)}
    no_article = {}
    for page_name in NO_ARTICLE:
        text = (PAGES / f"{page_name}.html").read_text(encoding="utf-8")
        page = {"name": page_name, "text": text, "bytes": text.encode(), "url": "https://www.example.com/section"}
        no_article[page_name] = {name: len(_squash(run(page)[0])) for name, run in EXTRACTORS.items()}
    _print(results, pages, no_article)
    if args.json:
        meta = {"date": dt.date.today().isoformat(), "machine": _machine(), "pages": [p["name"] for p in pages]}
        args.json.write_text(json.dumps({"meta": meta, "results": results, "no_article_chars": no_article}, indent=1)
                             + "\n", encoding="utf-8")


def _print(results: dict, pages: list[dict], no_article: dict) -> None:
    print(f"{len(pages)} pages, {dt.date.today()}, {_machine()}\n")
    print("| extractor | article sentences recovered | boilerplate segments leaked | metadata fields right | ms/page |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        fields = f"{r['fields_right']}/{r['fields']}" if r["fields"] else "-"
        print(f"| {name} | {r['recovered']}/{r['sentences']} ({r['recall']:.1%}) | "
              f"{r['leaked']}/{r['boilerplate']} ({r['leak']:.1%}) | {fields} | {r['ms_per_page']:.1f} |")
    print("\nPer page (recovered/sentences, leaked/boilerplate):\n")
    print("| page | " + " | ".join(results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for page in pages:
        cells = []
        for r in results.values():
            p = r["pages"][page["name"]]
            cells.append(f"{p['recovered']}/{p['sentences']}, {p['leaked']}/{p['boilerplate']}")
        print(f"| {page['name']} | " + " | ".join(cells) + " |")
    print("\nPages without an article: characters of text returned (0 = refused):\n")
    print("| page | " + " | ".join(results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for page_name, chars in no_article.items():
        print(f"| {page_name} | " + " | ".join(str(chars[name]) for name in results) + " |")
    print("\nMetadata fields that differ from the expected values:\n")
    for name, r in results.items():
        for page_name, p in r["pages"].items():
            for field, value in p["fields_wrong"].items():
                print(f"- {name}, {page_name}: {field} = {value!r}")
    print("\nLeaked boilerplate (first three per page):\n")
    for name, r in results.items():
        for page_name, p in r["pages"].items():
            if p["leaked_examples"]:
                print(f"- {name}, {page_name}: " + "; ".join(repr(x[:70]) for x in p["leaked_examples"]))


def _machine() -> str:
    from question_sets import machine as host

    return f"{host()}, trafilatura {trafilatura.__version__}"


if __name__ == "__main__":
    main()
