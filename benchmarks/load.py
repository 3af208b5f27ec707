"""Load figure of issue 17: concurrent clients asking through ``POST /api/ask`` on a real server.

    python -m benchmarks load [--clients 20] [--questions 25] [--articles 80]

Builds once (cached under ``.bench/load/``) an index of the first 80 articles of the MultiHop-RAG
corpus (``../shared/data/multihop-rag/corpus.json`` or ``MULTIHOP_RAG_DIR``) with the project's own
ingest path, starts ``python -m assistant serve`` on a free port as a subprocess, then runs
``--clients`` threads (httpx), each sending ``--questions`` different questions. Records every
request's latency, status and connection errors, samples the server's RSS every 0.5 s, and writes
``docs/research/load.md`` and ``docs/research/load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench" / "load"
COLLECTION = "load"


def multihop_dir() -> Path:
    return Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))


def build_index(articles: list[dict]) -> Path:
    """The index of ``articles`` under .bench/load/ (built once; reused while the articles are the same)."""
    data_dir = BENCH / f"data-{len(articles)}"
    stamp = data_dir / "built.json"
    if stamp.exists():
        return data_dir
    sys.path.insert(0, str(ROOT))
    from assistant import Settings, build_assistant

    data_dir.mkdir(parents=True, exist_ok=True)
    source = BENCH / f"articles-{len(articles)}.json"
    source.write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
    t0 = time.perf_counter()
    report = build_assistant(Settings(data_dir=data_dir, collection=COLLECTION)).ingest([source])
    print(report.summary())
    if report.failed:
        sys.exit(f"ingest failed for {report.failed} records; see above")
    stamp.write_text(json.dumps({"articles": len(articles), "seconds": round(time.perf_counter() - t0, 1)}))
    return data_dir


def make_questions(articles: list[dict]) -> list[str]:
    """MultiHop dev questions whose evidence is all in ``articles``, then questions made from titles."""
    urls = {a.get("url") for a in articles}
    questions: list[str] = []
    dev = multihop_dir() / "queries-dev.json"
    if dev.exists():
        for q in json.loads(dev.read_text(encoding="utf-8")):
            evidence = q.get("evidence_list") or []
            if evidence and all(e.get("url") in urls for e in evidence):
                questions.append(q["query"])
    forms = ["What happened in '{t}'?", "What does {s} report about {t}?", "Who is quoted in the story '{t}'?",
             "What are the main facts of '{t}'?", "Summarise the article '{t}'."]
    for a in articles:
        for form in forms:
            questions.append(form.format(t=a["title"][:200], s=a.get("source") or "the outlet"))
    seen: set[str] = set()
    return [q for q in questions if not (q in seen or seen.add(q))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=25, help="questions per client")
    ap.add_argument("--articles", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one request may take")
    ap.add_argument("--out", default=str(ROOT / "docs" / "research" / "load"), help="results path without extension")
    args = ap.parse_args()

    corpus = multihop_dir() / "corpus.json"
    if not corpus.exists():
        print(f"The MultiHop-RAG corpus is not at {corpus} (set MULTIHOP_RAG_DIR); nothing measured.")
        return 2
    articles = json.loads(corpus.read_text(encoding="utf-8"))[: args.articles]
    data_dir = build_index(articles)
    questions = make_questions(articles)
    print(f"{len(articles)} articles indexed in {data_dir}; {len(questions)} distinct questions")

    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_COLLECTION": COLLECTION,
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    log_path = BENCH / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    try:
        t0 = time.perf_counter()
        health = None
        while time.perf_counter() - t0 < 300:
            if server.poll() is not None:
                print(log_path.read_text()[-3000:])
                return f"the server exited with status {server.returncode}"
            try:
                r = httpx.get(f"{base}/api/health", timeout=5)
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        if health is None:
            return "the server did not answer /api/health within 300 s"
        startup_s = time.perf_counter() - t0
        print(f"server up in {startup_s:.1f} s: {health}")
        rss_idle = rss_mb(server.pid)

        def sample():
            start = time.perf_counter()
            while not stop.is_set():
                value = rss_mb(server.pid)
                if value is not None:
                    samples.append((time.perf_counter() - start, value))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        results: list[dict] = []
        lock = threading.Lock()

        def client(c: int):
            with httpx.Client(base_url=base, timeout=args.timeout) as http:
                for i in range(args.questions):
                    q = questions[(c * args.questions + i) % len(questions)]
                    t = time.perf_counter()
                    row = {"client": c, "question": q}
                    try:
                        r = http.post("/api/ask", json={"question": q})
                        row["status"] = r.status_code
                        if r.status_code == 200:
                            body = r.json()
                            row["abstained"] = bool(body.get("abstained"))
                            row["citations"] = len(body.get("citations") or [])
                        else:
                            row["error"] = f"HTTP {r.status_code}"
                            row["body"] = r.text[:300]
                    except httpx.HTTPError as exc:
                        row["status"] = None
                        row["error"] = type(exc).__name__
                        row["body"] = str(exc)[:300]
                    row["seconds"] = time.perf_counter() - t
                    with lock:
                        results.append(row)

        print(f"{args.clients} clients × {args.questions} questions …")
        wall0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall0
        time.sleep(1.0)
        stop.set()
        sampler.join()
        rss_final = rss_mb(server.pid)
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    ok = [r for r in results if r.get("status") == 200]
    errors = Counter(r["error"] for r in results if "error" in r)
    lat = [r["seconds"] for r in ok]
    rss_values = [v for _, v in samples]
    figures = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "index": {"articles": health["articles"], "chunks": health["chunks"], "corpus": str(corpus.name)},
        "clients": args.clients, "questions_per_client": args.questions,
        "distinct_questions": min(len(questions), args.clients * args.questions),
        "requests": len(results), "answered": len(ok),
        "abstained": sum(1 for r in ok if r.get("abstained")),
        "errors": sum(errors.values()), "errors_by_kind": dict(errors),
        "latency_s": {"p50": round(percentile(lat, 50), 3), "p95": round(percentile(lat, 95), 3),
                      "p99": round(percentile(lat, 99), 3), "mean": round(statistics.fmean(lat), 3) if lat else None,
                      "min": round(min(lat), 3) if lat else None, "max": round(max(lat), 3) if lat else None},
        "wall_s": round(wall, 1), "throughput_answers_per_s": round(len(ok) / wall, 3) if wall else None,
        "server_startup_s": round(startup_s, 1),
        "rss_mb": {"idle": round(rss_idle, 1) if rss_idle else None,
                   "peak": round(max(rss_values), 1) if rss_values else None,
                   "final": round(rss_final, 1) if rss_final else None, "samples": len(rss_values),
                   "interval_s": 0.5},
        "error_examples": [{k: r.get(k) for k in ("client", "question", "error", "body")}
                           for r in results if "error" in r][:10],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(render(figures), encoding="utf-8")
    print(render(figures))
    return 0 if not errors else 1


def render(f: dict) -> str:
    lat, rss, m = f["latency_s"], f["rss_mb"], f["machine"]
    kinds = ", ".join(f"{k}: {v}" for k, v in f["errors_by_kind"].items()) or "none"
    return f"""# Load

`python -m benchmarks load` (issue 17): {f['clients']} concurrent clients × {f['questions_per_client']} questions
through `POST /api/ask` of a real `assistant serve` (extractive answers, default settings) on an
index of the first {f['index']['articles']} articles of the MultiHop-RAG corpus ({f['index']['chunks']} chunks). Each client is a
thread with its own httpx connection sending its questions one after another; questions are the
MultiHop dev questions whose evidence is in those articles, then questions made from their titles
({f['distinct_questions']} distinct). Raw figures: [load.json](load.json).

| | |
|---|---|
| Date | {f['date']} |
| Machine | {m['cpu']}, {m['cores']} cores, Python {m['python']} (load average at the end: {', '.join(map(str, m['load_average_at_end']))}) |
| Requests | {f['requests']} ({f['answered']} answered with 200, {f['abstained']} of them abstentions) |
| Errors | **{f['errors']}** ({kinds}) |
| Latency p50 / p95 / p99 | **{lat['p50']:.2f} s / {lat['p95']:.2f} s / {lat['p99']:.2f} s** (mean {lat['mean']:.2f}, min {lat['min']:.2f}, max {lat['max']:.2f}) |
| Throughput | **{f['throughput_answers_per_s']:.2f} answers/s** ({f['answered']} in {f['wall_s']} s) |
| Server RSS | idle {rss['idle']} MB, **peak {rss['peak']} MB**, final {rss['final']} MB ({rss['samples']} samples every {rss['interval_s']} s) |
| Server start-up | {f['server_startup_s']} s to a healthy `/api/health` |

Latency is what a client waits, queueing included: with {f['clients']} clients on {m['cores']} cores most
of it is waiting for the CPU (mean ≈ clients ÷ throughput). The clients run on the same cores as
the server, so the load average includes them. RSS is the server process's (`VmRSS` from `/proc`):
"idle" is after start-up, before the first question (models load lazily, on the first answers).
"""


if __name__ == "__main__":
    sys.exit(main())
