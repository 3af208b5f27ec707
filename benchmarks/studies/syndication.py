"""Syndication detection measured: which threshold and shingle size tell copies from other stories.

    python -m benchmarks studies syndication

1. Fixtures (tests/data/syndication, written for this project): pairs of copies of one wire story
   and hard negatives (other articles on the same event, an update, a follow-up). Exact Jaccard
   per shingle size; then precision/recall per threshold of the real detector (MinHash estimate
   and LSH candidate), with the production seed and over 20 other seeds (the estimate's noise).
2. The index end to end on the fixtures at DEFAULT_THRESHOLD: the groups it forms.
3. The MultiHop-RAG corpus (609 real articles; skipped when absent): the most similar pairs with
   titles, sources and first sentences for a hand check, and the groups found per threshold.
4. Cost: signature, record and match time per article.

Writes docs/research/syndication.json and docs/research/syndication.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/

from assistant.live.syndication import (  # noqa: E402
    BANDS, DEFAULT_THRESHOLD, MIN_WORDS, NUM_PERM, ROWS, SEED, SHINGLE_WORDS,
    SyndicationIndex, band_buckets, shingles, signature, similarity,
)
from assistant.models import Article  # noqa: E402

FIXTURES = ROOT / "tests" / "data" / "syndication"
MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))
DATE = "2026-11-30"
COMMAND = "python -m benchmarks studies syndication"
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(11)]  # 0.30 .. 0.80
SHINGLE_SIZES = [3, 4, 5, 7, 9]
EXTRA_SEEDS = list(range(1, 21))

# What the hand check of the MultiHop pairs found (by the pair's two urls, either order).
ENG = "https://www.engadget.com/"
SN = "https://www.sportingnews.com/us/"
IND = "https://www.independent.co.uk/life-style/"
HAND_CHECK = {
    (ENG + "best-apple-black-friday-deals-ipads-airpods-apple-watch-iphone-more-094532221.html?src=rss",
     ENG + "the-best-apple-cyber-monday-deals-of-2023-save-on-airpods-ipads-apple-watches-and-more-100030003.html?src=rss"):
        "the same outlet re-issued its own deals list 3 days later under a new URL: 32 of 54 paragraphs word for "
        "word, intro and prices rewritten. A copy in the detector's sense (same text, other URL), not syndication",
    ("https://www.polygon.com/23654868/barbarian-best-build-skills",
     "https://www.polygon.com/diablo-4-guides/23653283/sorcerer-best-build-skills"):
        "two guides written from one template (section headings and game terms shared), different content: not a copy",
    (IND + "taylor-swift-travis-kelce-relationship-b2459441.html", IND + "taylor-swift-travis-kelce-tweets-b2453410.html"):
        "two stories on one couple; the newsletter sign-up boilerplate and background paragraphs are shared: not a copy",
    (SN + "mlb/news/world-series-live-score-results-rangers-diamondbacks-game-3/4a4c79e11dd8aabd734c2bbf",
     SN + "mlb/news/world-series-live-score-rangers-diamondbacks-game-4/59435f6fdceaa5092bcb2f40"):
        "live-score pages of games 3 and 4 with a shared page template: not a copy",
    (IND + "jada-pinkett-will-smith-prenup-b2430529.html", IND + "will-smith-jada-separation-divorce-b2429576.html"):
        "two stories on one couple the same day, shared boilerplate and background: not a copy",
    (IND + "jada-pinkett-will-smith-prenup-b2430529.html",
     IND + "love-sex/will-smith-jada-pinkett-relationship-timeline-divorce-b2427925.html"):
        "same couple, a timeline vs a news story: not a copy",
    (SN + "mlb/news/mlb-winter-meetings-news-signings-trades-2023-free-agency/b6561c0450fe40cdfd39860e",
     SN + "mlb/news/shohei-ohtani-rumors-tracker-free-agency-updates/5749c16d66b36883ecd888d9"):
        "two rumour trackers sharing some Ohtani paragraphs: not a copy",
    (IND + "taylor-swift-time-person-of-the-year-b2459419.html", IND + "taylor-swift-travis-kelce-relationship-b2459441.html"):
        "two Taylor Swift stories from one interview, same day: not a copy",
    (IND + "jada-pinkett-will-smith-prenup-b2430529.html", IND + "will-smith-jada-pinket-marriage-b2432586.html"):
        "same couple, different events: not a copy",
    (ENG + "best-october-amazon-prime-day-deals-100020186.html?src=rss",
     ENG + "the-26-best-amazon-prime-day-deals-you-can-still-shop-for-today-154416960.html?src=rss"):
        "two deals lists two days apart sharing some product blurbs: not a copy",
    ("https://www.wired.com/story/amazon-prime-day-apple-deals-october-2023-1/",
     "https://www.wired.com/story/best-apple-black-friday-deals-2023-2/"):
        "two deals lists six weeks apart sharing some product blurbs: not a copy",
    (SN + "soccer/news/argentina-vs-paraguay-live-score-result-world-cup-qualifying/e1abefcad5725a8f835b36b5",
     SN + "soccer/news/watch-argentina-vs-paraguay-stream-tv-lineups-odds-qualifying/9852101b5448230da880d549"):
        "preview and live-score page of one match: not a copy",
}


def load_fixtures() -> list[tuple[str, dict, Article]]:
    found = []
    for path in sorted(FIXTURES.glob("*.txt")):
        head, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
        meta = dict(line.split(": ", 1) for line in head.splitlines())
        article = Article(title=meta["title"], body=body, source=meta["source"], url=meta["url"],
                          published_at=meta["published_at"], origin=str(path))
        found.append((path.stem, meta, article))
    return found


def labelled_pairs(fixtures) -> dict[str, list[tuple[str, str]]]:
    pairs = {"positive": [], "hard_negative": [], "other": []}
    for (a, ma, _), (b, mb, _) in combinations(fixtures, 2):
        if ma.get("group") and ma.get("group") == mb.get("group"):
            pairs["positive"].append((a, b))
        elif (ma.get("negative_of") and ma["negative_of"] == mb.get("group")) or \
                (mb.get("negative_of") and mb["negative_of"] == ma.get("group")):
            pairs["hard_negative"].append((a, b))
        else:
            pairs["other"].append((a, b))
    return pairs


def exact_jaccard(x: set, y: set) -> float:
    return len(x & y) / len(x | y) if x or y else 1.0


def shingle_study(texts: dict[str, str], pairs) -> list[dict]:
    rows = []
    for size in SHINGLE_SIZES:
        sets = {name: shingles(text, size) for name, text in texts.items()}
        j = {kind: [exact_jaccard(sets[a], sets[b]) for a, b in ps] for kind, ps in pairs.items()}
        rows.append({"shingle_words": size, "positive_min": min(j["positive"]),
                     "positive_median": statistics.median(j["positive"]),
                     "hard_negative_max": max(j["hard_negative"]),
                     "hard_negative_max_excluding_update": max(
                         v for (a, b), v in zip(pairs["hard_negative"], j["hard_negative"]) if "update" not in a + b),
                     "other_max": max(j["other"])})
    return rows


def detects(sig_a: np.ndarray, sig_b: np.ndarray, threshold: float) -> bool:
    """What the index decides for a pair: a shared LSH bucket, then the estimate at/above the threshold."""
    shared = set(band_buckets(sig_a)) & set(band_buckets(sig_b))
    return bool(shared) and similarity(sig_a, sig_b) >= threshold


def pr(sigs: dict[str, np.ndarray], pairs, threshold: float) -> dict:
    tp = sum(detects(sigs[a], sigs[b], threshold) for a, b in pairs["positive"])
    fp_hard = sum(detects(sigs[a], sigs[b], threshold) for a, b in pairs["hard_negative"])
    fp_other = sum(detects(sigs[a], sigs[b], threshold) for a, b in pairs["other"])
    fp = fp_hard + fp_other
    return {"threshold": threshold, "tp": tp, "fn": len(pairs["positive"]) - tp, "fp_hard": fp_hard,
            "fp_other": fp_other, "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / len(pairs["positive"])}


def threshold_study(texts, pairs) -> dict:
    production = {n: signature(t) for n, t in texts.items()}
    rows = [pr(production, pairs, t) for t in THRESHOLDS]
    by_seed = {t: [] for t in THRESHOLDS}
    for seed in EXTRA_SEEDS:
        sigs = {n: signature(t, seed=seed) for n, t in texts.items()}
        for t in THRESHOLDS:
            by_seed[t].append(pr(sigs, pairs, t))
    for row in rows:
        runs = by_seed[row["threshold"]]
        row["seeds_mean_precision"] = statistics.fmean(r["precision"] for r in runs)
        row["seeds_mean_recall"] = statistics.fmean(r["recall"] for r in runs)
        row["seeds_min_recall"] = min(r["recall"] for r in runs)
        row["seeds_with_false_positive"] = sum(r["fp_hard"] + r["fp_other"] > 0 for r in runs)
    estimates = {kind: sorted(((similarity(production[a], production[b]), a, b) for a, b in ps), reverse=True)
                 for kind, ps in pairs.items() if kind != "other"}
    return {"rows": rows, "seeds": len(EXTRA_SEEDS),
            "lowest_positives": [(round(s, 3), a, b) for s, a, b in estimates["positive"][-5:]],
            "highest_hard_negatives": [(round(s, 3), a, b) for s, a, b in estimates["hard_negative"][:5]]}


def index_groups(fixtures, threshold: float) -> dict:
    """Record the fixtures in publication order in a real index; compare groups with the labels."""
    with tempfile.TemporaryDirectory() as tmp:
        index = SyndicationIndex(Path(tmp) / "syndication.db", threshold=threshold)
        names = {}
        for name, meta, article in sorted(fixtures, key=lambda f: f[2].published_at):
            index.record(article)
            names[article.id] = name
        groups = index.group_of(names)
        stats = index.stats()
        index.close()
    found: dict[str, list[str]] = {}
    for article_id, group in groups.items():
        found.setdefault(group, []).append(names[article_id])
    expected = {}
    for name, meta, _ in fixtures:
        expected.setdefault(meta.get("group") or f"alone:{name}", []).append(name)
    found_sets = sorted(sorted(g) for g in found.values())
    expected_sets = sorted(sorted(g) for g in expected.values())
    return {"threshold": threshold, "stats": stats, "groups": found_sets, "matches_labels": found_sets == expected_sets}


def first_sentence(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def multihop_study() -> dict | None:
    corpus_file = MULTIHOP / "corpus.json"
    if not corpus_file.exists():
        return None
    corpus = json.loads(corpus_file.read_text(encoding="utf-8"))
    articles = [Article(title=r["title"], body=r["body"], source=r["source"], url=r["url"],
                        published_at=r["published_at"].replace(" ", "T").split(".")[0] + "Z") for r in corpus]
    words = [len(a.body.split()) for a in articles]
    start = time.perf_counter()
    sigs = np.stack([signature(a.body) for a in articles])
    sig_ms = (time.perf_counter() - start) * 1000 / len(articles)
    n = len(articles)
    sim = np.zeros((n, n))
    for i in range(n):
        sim[i] = (sigs == sigs[i]).mean(axis=1)
    upper = np.triu_indices(n, 1)
    values = sim[upper]
    order = np.argsort(-values)
    top = []
    for r in order[:12]:
        i, j = int(upper[0][r]), int(upper[1][r])
        a, b = articles[i], articles[j]
        top.append({"estimated": round(float(values[r]), 3),
                    "exact": round(exact_jaccard(shingles(a.body), shingles(b.body)), 3),
                    "a": {"source": a.source, "title": a.title, "published_at": a.published_at, "url": a.url,
                          "start": first_sentence(a.body)},
                    "b": {"source": b.source, "title": b.title, "published_at": b.published_at, "url": b.url,
                          "start": first_sentence(b.body)},
                    "hand_check": HAND_CHECK.get((a.url, b.url)) or HAND_CHECK.get((b.url, a.url))
                    or "not checked by hand"})
    counts = {str(t): int((values >= t).sum()) for t in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]}
    runs = []
    for threshold in [0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8]:
        with tempfile.TemporaryDirectory() as tmp:
            index = SyndicationIndex(Path(tmp) / "syndication.db", threshold=threshold)
            start = time.perf_counter()
            for article in articles:
                index.record(article)
            record_ms = (time.perf_counter() - start) * 1000 / n
            start = time.perf_counter()
            for article in articles[:100]:
                index.match(article)
            match_ms = (time.perf_counter() - start) * 1000 / 100
            stats = index.stats()
            grouped = [[f"{c.source}: {c.title}" for c in index.members(g)]
                       for g in sorted(set(index.group_of(a.id for a in articles).values()))
                       if len(index.members(g)) > 1]
            index.close()
        runs.append({"threshold": threshold, **stats, "record_ms": round(record_ms, 2),
                     "match_ms": round(match_ms, 2), "grouped": grouped})
    return {"articles": n, "median_words": statistics.median(words), "max_words": max(words),
            "signature_ms": round(sig_ms, 2), "pairs": len(values), "pairs_at_or_above": counts,
            "top_pairs": top, "index_runs": runs}


def cost_study(fixtures) -> dict:
    bodies = [a.body for _, _, a in fixtures]
    start = time.perf_counter()
    for _ in range(5):
        for body in bodies:
            signature(body)
    per = (time.perf_counter() - start) * 1000 / (5 * len(bodies))
    huge = " ".join(bodies) * 4  # ~60,000 words: only the first MAX_WORDS are shingled
    start = time.perf_counter()
    signature(huge)
    huge_ms = (time.perf_counter() - start) * 1000
    return {"fixture_signature_ms": round(per, 2), "fixture_median_words": statistics.median(len(b.split()) for b in bodies),
            "huge_body_words": len(huge.split()), "huge_body_signature_ms": round(huge_ms, 1)}


def machine() -> str:
    from question_sets import machine as host

    return f"{host()}"


def pct(x: float) -> str:
    return f"{x:.3f}"


def render(result: dict) -> str:
    fx, ts = result["fixtures"], result["thresholds"]
    lines = [
        "# Syndicated copies: measurements",
        "",
        f"Date: {DATE}. Machine: {result['machine']}. Command: `{COMMAND}` "
        "(this page and `docs/research/syndication.json` are written by it).",
        "",
        "`assistant/live/syndication.py` groups copies of one story published under several URLs. Exact "
        "duplicates share the hash of the normalised body (casefolded NFKC, punctuation and whitespace "
        f"collapsed). Near-duplicates: MinHash ({NUM_PERM} permutations, datasketch, fixed seed) of word "
        f"{SHINGLE_WORDS}-shingles of the normalised body; LSH with {BANDS} bands of {ROWS} rows stored in "
        "SQLite finds candidates, the stored signature verifies them: a copy when the estimated Jaccard "
        f"similarity is at least **DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD}**. Bodies under {MIN_WORDS} "
        "words are matched exactly only.",
        "",
        "## The fixtures (written here, not real articles)",
        "",
        f"There is no internet on this machine, so the {fx['articles']} fixture articles in "
        "`tests/data/syndication/` were written for this project: seven fictional wire stories "
        "(AP and Reuters style, 460-540 words; fictional people, companies and events) and, for each, "
        "the forms outlets republish them in, made by hand-written edits of the wire text: another "
        "headline, the `(AP) —` dateline dropped or changed, photo captions and `Related:` lines "
        "inserted, an editor's note or a local paragraph added, a reworded lede, a trimmed ending "
        "(down to the first half), and one exact duplicate differing only in typography. Hard "
        "negatives were written independently: an independent Reuters report of the same quake, a "
        "column on the same rate decision, a local match report, a trade-press analysis of the same "
        "drug approval, a local story on the same verdict (all with the same names and numbers), the "
        "follow-up story four days later, and the next-day update of the breach story.",
        "",
        "**Decision: an update with substantial new paragraphs is not a copy.** The breach update keeps "
        "most of the first version but about half of it is new (the count doubles, a ransom was paid, "
        "a state inquiry). Grouping it would let retrieval show one version and hide the other's facts, "
        "so it is labelled a hard negative. An outlet's trimmed version only lacks paragraphs of the "
        "wire text, so it is a copy.",
        "",
        f"Labelled pairs: {fx['pairs']['positive']} copy pairs (same story), {fx['pairs']['hard_negative']} "
        f"hard-negative pairs, {fx['pairs']['other']} pairs of unrelated stories.",
        "",
        "### Shingle size (exact Jaccard of the shingle sets)",
        "",
        "| words per shingle | copies: lowest | copies: median | hard negatives: highest (the update) | "
        "hard negatives: highest other | unrelated: highest |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["shingles"]:
        lines.append(f"| {row['shingle_words']} | {pct(row['positive_min'])} | {pct(row['positive_median'])} | "
                     f"{pct(row['hard_negative_max'])} | {pct(row['hard_negative_max_excluding_update'])} | "
                     f"{pct(row['other_max'])} |")
    lines += [
        "",
        "Independently written articles on the same event share almost no word 5-grams (at most "
        f"{pct(result['shingles'][2]['hard_negative_max_excluding_update'])}) even with the same names, "
        "numbers and quotes; shorter shingles raise that floor, longer ones lower the copies slightly. "
        f"The gap between copies and the update hardly moves with the size; {SHINGLE_WORDS} words is kept.",
        "",
        f"### Precision and recall per threshold (estimated Jaccard, {NUM_PERM} permutations, LSH candidate required)",
        "",
        f"Pairs decided as the index decides them. Production seed, then the mean over {ts['seeds']} other "
        "seeds (how much the MinHash estimate's noise moves a borderline pair). False positives are counted "
        "over hard-negative and unrelated pairs.",
        "",
        "| threshold | TP | FN | FP hard | FP other | precision | recall | mean precision (seeds) | "
        "mean recall (seeds) | lowest recall (seeds) | seeds with a FP |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ts["rows"]:
        mark = " **(default)**" if abs(r["threshold"] - DEFAULT_THRESHOLD) < 1e-9 else ""
        lines.append(f"| {r['threshold']:.2f}{mark} | {r['tp']} | {r['fn']} | {r['fp_hard']} | {r['fp_other']} | "
                     f"{pct(r['precision'])} | {pct(r['recall'])} | {pct(r['seeds_mean_precision'])} | "
                     f"{pct(r['seeds_mean_recall'])} | {pct(r['seeds_min_recall'])} | "
                     f"{r['seeds_with_false_positive']}/{ts['seeds']} |")
    lines += ["", "Lowest estimated copies: " + "; ".join(f"{a} / {b} {s}" for s, a, b in ts["lowest_positives"]) + ".",
              "Highest estimated hard negatives: " + "; ".join(f"{a} / {b} {s}" for s, a, b in ts["highest_hard_negatives"]) + ".",
              "", "### The index end to end on the fixtures", ""]
    ix = result["fixture_index"]
    lines.append(f"A real index (SQLite in a temporary directory) records the 30 fixtures in publication order. "
                 f"At the default {ix['threshold']}: {ix['stats']}; the groups equal the labels: "
                 f"**{ix['matches_labels']}**. Per threshold (production seed):")
    lines += ["", "| threshold | groups | groups with copies | groups equal the labels |", "|---|---|---|---|"]
    for run in result["fixture_index_by_threshold"]:
        lines.append(f"| {run['threshold']:.2f} | {run['stats']['groups']} | {run['stats']['groups_with_copies']} | "
                     f"{run['matches_labels']} |")
    lines += ["", "(Seven stories and seven hard negatives: the labels are 14 groups, 7 of them with copies. A group "
              "holds together even when one pair of its members is below the threshold, because each member "
              "only has to match one recorded member.)"]
    lines += ["", "## MultiHop-RAG corpus (609 real articles)", ""]
    mh = result["multihop"]
    if mh is None:
        lines.append(f"Skipped: {MULTIHOP / 'corpus.json'} is absent.")
    else:
        lines += [
            f"{mh['articles']} articles (median {mh['median_words']:.0f} words, longest {mh['max_words']}), "
            f"{mh['pairs']} pairs. Pairs at or above an estimated Jaccard: "
            + ", ".join(f"≥{t}: {c}" for t, c in mh["pairs_at_or_above"].items()) + ".",
            "",
            "Groups with copies found by the index (all 609 recorded, in file order):",
            "",
            "| threshold | groups | groups with copies | copies | record ms/article | match ms/article |",
            "|---|---|---|---|---|---|",
        ]
        for run in mh["index_runs"]:
            lines.append(f"| {run['threshold']} | {run['groups']} | {run['groups_with_copies']} | {run['copies']} | "
                         f"{run['record_ms']} | {run['match_ms']} |")
        lines += ["", "The most similar pairs (estimated / exact Jaccard), checked by hand:", ""]
        for p in mh["top_pairs"]:
            lines.append(f"- **{p['estimated']}** / {p['exact']}: {p['a']['source']}, “{p['a']['title']}” "
                         f"({p['a']['published_at'][:10]}) vs {p['b']['source']}, “{p['b']['title']}” "
                         f"({p['b']['published_at'][:10]}). {p['hand_check']}.")
        lines += [
            "",
            "What the hand check saw: the corpus holds no syndicated wire copies (no two bodies are equal, "
            "and no two outlets carry one text). One pair stands out at "
            f"{mh['top_pairs'][0]['estimated']}: Engadget re-issued its own Apple deals list under a new URL "
            "for Cyber Monday; it is the one group found at thresholds up to "
            f"{max([r['threshold'] for r in mh['index_runs'] if r['groups_with_copies']] or [0])} and it is a "
            "copy in the sense used here (the same text under another URL), though not syndication. "
            f"Everything else is below {mh['top_pairs'][1]['estimated']} and is same-topic material "
            "that is not a copy: guides built from one template, several Independent pieces on the same "
            "celebrity couple, deals lists, live-score and preview pages sharing boilerplate. Those "
            "would only be grouped at thresholds far below any sensible setting.",
        ]
    c = result["cost"]
    lines += [
        "",
        "## Cost",
        "",
        f"Signature: {c['fixture_signature_ms']} ms per fixture article (median {c['fixture_median_words']:.0f} words)"
        + (f", {mh['signature_ms']} ms per MultiHop article (median {mh['median_words']:.0f} words)" if mh else "")
        + f"; a {c['huge_body_words']}-word body is cut at 20,000 words: {c['huge_body_signature_ms']} ms. "
        "`record()` adds one SQLite transaction (WAL) per article; `match()` is two indexed queries and "
        "at most 200 signature comparisons (times in the MultiHop table above, 2 shared cores under a "
        "running benchmark). Storage per article: a 512-byte signature and "
        f"{BANDS} band rows.",
        "",
        "## The threshold chosen, and why",
        "",
        result["choice"],
        "",
        "## Behaviour to know",
        "",
        "- Groups are never merged. A new article that matches members of two groups joins the group of "
        "its best match (the highest estimate, then the oldest published). An edited article (same id) is "
        "re-matched on its own; the members it leaves keep their group. A group is named after the article "
        "that started it; if that article is edited away or forgotten and later starts a group again while "
        "old members still hold its id, the new group gets a derived id.",
        "- `forget()` deletes rows and band entries; the remaining members keep their group.",
        f"- Bodies under {MIN_WORDS} words, or of no words at all, are not near-matched; empty bodies match nothing.",
        "- The file records the signature settings; opening it with other settings raises ConfigError "
        "(delete the file and index again).",
        "",
    ]
    return "\n".join(lines)


def choose(ts: dict, shingle_rows: list[dict]) -> str:
    five = next(r for r in shingle_rows if r["shingle_words"] == SHINGLE_WORDS)
    row = next(r for r in ts["rows"] if abs(r["threshold"] - DEFAULT_THRESHOLD) < 1e-9)
    perfect = [r["threshold"] for r in ts["rows"] if r["precision"] == 1.0 and r["recall"] == 1.0]
    return (
        f"DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD}. Exact Jaccard separates the fixtures with a gap from "
        f"{pct(five['hard_negative_max'])} (the update, the highest hard negative) to {pct(five['positive_min'])} "
        f"(the copy trimmed to half, the lowest copy); independent articles on the same event stay below "
        f"{pct(five['hard_negative_max_excluding_update'])}, and on the real corpus everything except one "
        "re-issued article is below 0.25. The threshold sits inside the gap, a little above its middle "
        "because a wrong merge hides an article from retrieval while a missed copy only shows one story "
        "twice. With the production seed, "
        + ("only " if len(perfect) == 1 else "thresholds ")
        + (", ".join(f"{t:.2f}" for t in perfect) if perfect else "none")
        + (" classifies" if len(perfect) == 1 else " classify")
        + f" every fixture pair right; at {DEFAULT_THRESHOLD} over {ts['seeds']} other seeds the "
        f"mean precision is {pct(row['seeds_mean_precision'])} and the mean recall {pct(row['seeds_mean_recall'])} "
        f"(lowest {pct(row['seeds_min_recall'])}; the update crossed the threshold with "
        f"{row['seeds_with_false_positive']} of {ts['seeds']} seeds): with {NUM_PERM} permutations the estimate's standard "
        "error near 0.5 is about 0.044, so a copy trimmed to half its length, or an update half new, can "
        "fall on either side. What the threshold means: a version is a copy when at least about "
        f"{DEFAULT_THRESHOLD:.0%} of the shingles of the two texts together are shared — the fixtures are "
        "ours, so this rests on how much we decided an outlet may trim or an update may add."
    )


def main() -> dict:
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    fixtures = load_fixtures()
    texts = {name: article.body for name, _, article in fixtures}
    pairs = labelled_pairs(fixtures)
    shingle_rows = shingle_study(texts, pairs)
    ts = threshold_study(texts, pairs)
    result = {
        "date": DATE, "machine": machine(), "command": COMMAND,
        "settings": {"default_threshold": DEFAULT_THRESHOLD, "num_perm": NUM_PERM, "seed": SEED,
                     "shingle_words": SHINGLE_WORDS, "bands": BANDS, "rows": ROWS, "min_words": MIN_WORDS},
        "fixtures": {"articles": len(fixtures), "pairs": {k: len(v) for k, v in pairs.items()}},
        "shingles": shingle_rows,
        "thresholds": ts,
        "fixture_index": index_groups(fixtures, DEFAULT_THRESHOLD),
        "fixture_index_by_threshold": [
            {k: v for k, v in index_groups(fixtures, t).items() if k != "groups"} for t in THRESHOLDS],
        "multihop": multihop_study(),
        "cost": cost_study(fixtures),
    }
    result["choice"] = choose(ts, shingle_rows)
    (ROOT / "docs" / "research" / "syndication.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    page = render(result)
    (ROOT / "docs" / "research" / "syndication.md").write_text(page)
    print(page)
    return result


if __name__ == "__main__":
    main()
