"""Page furniture on the MultiHop-RAG corpus: what assistant/ingest/furniture.py takes out, how fast,
and whether any benchmark evidence is touched.

    python -m benchmarks studies furniture            # prints the figures; --json for all of them

For the 609 articles: lines and pieces dropped (by outlet), the time to strip them all (best of 3),
and how many gold facts of the question sets (MultiHop-RAG dev, evals/multihop_users.jsonl,
evals/multihop_quiz.jsonl) stop being a substring of their article once the furniture is out
(whitespace ignored, as the benchmark scores hits): any such fact would be a retrieval hit lost.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter

from question_sets import MULTIHOP, ROOT, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="Print this many dropped lines as examples.")
    args = parser.parse_args()
    from assistant.ingest.furniture import strip_furniture

    articles = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        stripped = [strip_furniture(a["body"]) for a in articles]
        best = min(best, time.perf_counter() - started)
    megabytes = sum(len(a["body"].encode("utf-8")) for a in articles) / 2**20
    by_outlet = Counter()
    for article, result in zip(articles, stripped):
        by_outlet[article["source"]] += len(result.dropped)

    squash = lambda text: re.sub(r"\s+", "", text)  # noqa: E731
    before = {a["title"]: squash(a["body"]) for a in articles}
    after = {a["title"]: squash(s.text) for a, s in zip(articles, stripped)}
    facts = [e["fact"] for q in json.loads((MULTIHOP / "queries-dev.json").read_text(encoding="utf-8"))
             for e in q["evidence_list"]]
    for name in ("multihop_users.jsonl", "multihop_quiz.jsonl"):
        for line in (ROOT / "evals" / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line) if line.strip() else {}
            facts += [e.get("fact", "") for e in record.get("evidence") or record.get("evidence_list") or []
                      if isinstance(e, dict)]
    touched = []
    for fact in filter(None, map(squash, facts)):
        if any(fact in body and fact not in after[title] for title, body in before.items()):
            touched.append(fact)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "articles": len(articles), "megabytes": round(megabytes, 2),
              "dropped": sum(by_outlet.values()), "articles_with_furniture": sum(bool(s.dropped) for s in stripped),
              "seconds": round(best, 3), "megabytes_per_second": round(megabytes / best, 2),
              "gold_facts": len(facts), "gold_facts_touched": len(touched), "by_outlet": dict(by_outlet.most_common())}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['articles']} articles ({megabytes:.1f} MB): {result['dropped']} lines and pieces of furniture "
          f"in {result['articles_with_furniture']} articles, stripped in {best:.2f} s "
          f"({result['megabytes_per_second']} MB/s); gold facts touched: {len(touched)} of {len(facts)}")
    for outlet, count in by_outlet.most_common(10):
        print(f"  {count:5d}  {outlet}")
    shown = 0
    for result_, article in zip(stripped, articles):
        for line in result_.dropped:
            if shown < args.show:
                print(f"  [{article['source'][:20]}] {line[:120]}")
                shown += 1


if __name__ == "__main__":
    main()
