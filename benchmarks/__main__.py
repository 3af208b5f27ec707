"""One harness for every measurement of the project.

    python -m benchmarks retrieval [--sets ...] [--profiles ...] [--limit N]   # retrieval and declines, every set
    python -m benchmarks answers [--sets ...] [--profiles ...] [--limit N]     # answer quality, every set
    python -m benchmarks speed | scale | load [...]                              # ingest, start-up, size, concurrency
    python -m benchmarks reranker [...]                                          # rebuild the shipped reranker model
    python -m benchmarks confidence SIGNALS [--profile FILE]                     # fit the answer confidence model
    python -m benchmarks studies NAME [...]                                      # one of the studies below
    python -m benchmarks sets                                                    # the question sets and profiles
    python -m benchmarks COMMAND --help                                          # a command's options

Every command reads the same registry of question sets and profiles (benchmarks/question_sets.py),
builds the indexes it needs under --index-dir on first use (default .bench/), and writes its page
and JSON with the date, the machine and the command: the results pages users read in docs/
(retrieval.md, answers-by-set.md), everything else in docs/research/. The MultiHop-RAG sets
need ../shared/data/multihop-rag/ (or MULTIHOP_RAG_DIR) and are skipped without it. Run one
command at a time: each uses every core.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# command -> (module under benchmarks/, what it measures)
COMMANDS = {
    "retrieval": ("retrieval", "Hits@K, MRR, evidence recall and declines on every set, the floors beside the default "
                               "(docs/retrieval.md)"),
    "answers": ("answers", "citation precision/recall, answer_contains and declines on every set "
                           "(docs/answers-by-set.md)"),
    "speed": ("speed", "ingest throughput and start-up (docs/research/speed.md)"),
    "scale": ("scale", "memory, start-up and latency at 1x and 12x the MultiHop-RAG index (docs/research/speed.md)"),
    "load": ("load", "concurrent clients on a real server (docs/research/load.md)"),
    "confidence": ("confidence_fit", "fit how the confidence signals combine (from `answers --signals`), leave one "
                                     "set out, and write the model into a profile (docs/confidence-fit.md)"),
    "reranker": ("train_reranker", "train the multihop profile's reranker; rewrites assistant/rerank/multihop_model.json "
                                   "(docs/research/reranker.md)"),
}
STUDIES = {
    "fusion": ("studies.fusion", "which fusion stages the default keeps, out of sample (docs/research/fusion-study.md)"),
    "abstention": ("studies.abstention", "when to decline, calibrated out of sample (docs/research/abstention.md)"),
    "embedding-backends": ("studies.embedding_backends", "torch / ONNX / OpenVINO speed and fidelity "
                                                         "(docs/research/embedding-backends.md)"),
    "sentence-vectors": ("studies.sentence_vectors", "the ASSISTANT_SENTENCE_VECTORS options "
                                                     "(docs/research/sentence-vectors.md)"),
    "recency": ("studies.recency", "ranking newer coverage first (docs/research/recency.json, docs/live-news.md)"),
    "syndication": ("studies.syndication", "copy detection thresholds (docs/research/syndication.md)"),
    "extraction": ("studies.extraction", "main text of web pages (docs/research/extraction.md)"),
    "furniture": ("studies.furniture", "page furniture left out at ingest: what, how fast, gold facts touched "
                                       "(docs/furniture.md)"),
    "local-llm": ("studies.local_llm", "the local model's answers beside the extractive ones "
                                       "(docs/research/local-llm.json, docs/answers.md)"),
}


def usage() -> str:
    width = max(map(len, [*COMMANDS, *STUDIES])) + 2
    lines = [__doc__.strip(), "", "Commands:"]
    lines += [f"  {name:{width}}{about}" for name, (_, about) in COMMANDS.items()]
    lines += ["", "Studies (python -m benchmarks studies NAME):"]
    lines += [f"  {name:{width}}{about}" for name, (_, about) in STUDIES.items()]
    return "\n".join(lines)


def list_sets() -> int:
    """Print the registry: each question set available here, its index and question counts, then the profiles."""
    from question_sets import FLOORS, PROFILES, question_sets

    for qs in question_sets():
        print(f"{qs.name:15} {len(qs.answerable):5} answerable {len(qs.unanswerable):4} unanswerable  "
              f"index {qs.collection!r} of {qs.corpus}" + (f"  (same questions as {qs.group})" if qs.group != qs.name else ""))
    print("profiles: " + ", ".join(PROFILES) + f"  (floors: {', '.join(FLOORS)})")
    return 0


def run(module_name: str, command: str, argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))  # the scripts import the registry as a sibling (question_sets)
    module = importlib.import_module(module_name)
    sys.argv = [f"python -m benchmarks {command}", *argv]  # what each script's argparse shows in --help
    result = module.main()
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "sets":
        sys.path.insert(0, str(HERE))
        return list_sets()
    if command == "studies":
        if not rest or rest[0] in ("-h", "--help") or rest[0] not in STUDIES:
            known = ", ".join(STUDIES)
            print(usage() if not rest or rest[0] in ("-h", "--help") else
                  f"unknown study {rest[0]!r}: choose one of {known}", file=sys.stderr if rest else sys.stdout)
            return 0 if not rest or rest[0] in ("-h", "--help") else 2
        return run(STUDIES[rest[0]][0], f"studies {rest[0]}", rest[1:])
    if command not in COMMANDS:
        print(f"unknown command {command!r}: choose one of {', '.join([*COMMANDS, 'studies', 'sets'])} "
              "(python -m benchmarks --help)", file=sys.stderr)
        return 2
    return run(COMMANDS[command][0], command, rest)


if __name__ == "__main__":
    sys.exit(main())
