"""Reliability under other writers, crashes and a dead Chroma server (issue 17, items 1, 3, 5, 7a).

* A real server (the whole app, uvicorn, embedded Chroma) answers two clients while another
  process ingests 60 articles and then prunes 10: no failed question, no dropped connection, the
  new articles are answered from once ingested, the pruned ones no longer.
* ``kill -9`` of an ingest process at each write step (the test-only hook
  ``ASSISTANT_TEST_CRASH_AT``, see ``assistant/index/store.py``) and at random moments, then a
  re-run (``assistant ingest`` again, or a server start that replays the journal): the index is
  the same as a clean one built from the same files — chunks, sentence vectors, BM25, dense.
* A Chroma server killed mid-ingest (exit 2, "Cannot reach the Chroma server at HOST:PORT") and
  mid-question (503 JSON, connection kept, ``/api/health`` says so), then restarted: all recovers.
* With an API key, the web chat's page shows nothing of the index before login and its
  heartbeat is refused.

Short by default (about 3 minutes on 2 busy cores). Longer runs: ``RELIABILITY_TRIALS=N`` for N
random-moment kill trials (default 8, next to the 12 at write steps), ``RELIABILITY_CLIENT_SECONDS``
for more questioning after the writes (default 4), ``RELIABILITY_OUTAGE_SECONDS`` for a longer
Chroma outage under two clients (default 3).
"""

from __future__ import annotations

import http.client
import json
import os
import pickle
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import ROOT

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

RANDOM_TRIALS = int(os.environ.get("RELIABILITY_TRIALS") or 8)
CLIENT_SECONDS = float(os.environ.get("RELIABILITY_CLIENT_SECONDS") or 4)
OUTAGE_SECONDS = float(os.environ.get("RELIABILITY_OUTAGE_SECONDS") or 3)
OUTLETS = ["Harbour Ledger", "Valley Courier", "Northern Tribune"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def place(n: int) -> str:
    """A made-up town name per article: each question has exactly one right article."""
    syllables = ["quar", "bel", "tosk", "vir", "mond", "zel", "prax", "lum", "dorv", "kel"]
    return (syllables[n % 10] + syllables[(n // 10) % 10] + syllables[(n // 100) % 10]).capitalize() + "ton"


def story(n: int, version: int = 1, sentences: int = 4) -> dict:
    town = place(n)
    lines = [f"The council of {town} approved the {town} harbour plan on Monday, version {version}.",
             f"Residents of {town} welcomed the decision with a parade through the old market.",
             f"The mayor of {town} said the plan would cost about {n + 3} million over ten years."]
    lines += [f"Engineers in {town} reported step {k} of the works, which included new cables and a "
              f"second pier for ferries, in revision {version}." for k in range(max(0, sentences - 3))]
    return {"title": f"{town} approves harbour plan", "body": " ".join(lines[:max(sentences, 1)]),
            "source": OUTLETS[n % 3], "url": f"https://news.example.org/{n}", "published_at": "2024-03-04"}


def write_stories(folder: Path, numbers, version: int = 1, sentences: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (folder / f"story_{n:03d}.json").write_text(json.dumps(story(n, version, sentences)), encoding="utf-8")


def cli_env(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "RELIABILITY_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               ASSISTANT_DATA_DIR=str(data_dir), **extra)
    return env


# --- a real server in a thread ---------------------------------------------------------------------
class LiveServer:
    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            assert time.time() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


class Asker:
    """A client asking questions over one persistent HTTP/1.1 connection: a connection the server
    closes (or a request that fails to get an answer) is counted as dropped, then reopened."""

    def __init__(self, port: int, questions, headers=None):
        self.port, self.questions, self.headers = port, questions, headers or {}
        self.results: list[dict] = []
        self.dropped = 0
        self.stop = threading.Event()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def ask(self, question: str) -> dict:
        body = json.dumps({"question": question, "k": 5})
        started = time.perf_counter()
        try:
            self.conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json",
                                                                        **self.headers})
            response = self.conn.getresponse()
            data = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.dropped += 1
                self.conn.close()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            self.dropped += 1
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return {"question": question, "status": None, "error": repr(error), "at": time.time()}
        answer = json.loads(data) if data else {}
        cited = {c["article_id"] for c in answer.get("citations", [])} if status == 200 else set()
        return {"question": question, "status": status, "cited": cited, "at": time.time(),
                "seconds": time.perf_counter() - started, "body": answer if status != 200 else None}

    def run(self):
        i = 0
        while not self.stop.is_set():
            question = self.questions(i)
            self.results.append(self.ask(question))
            i += 1


def article_id(n: int) -> str:
    from assistant.models import Article

    s = story(n)
    return Article(title=s["title"], body=s["body"], url=s["url"]).id


def question_for(n: int) -> str:
    return f"What did the residents of {place(n)} welcome?"


def test_server_answers_while_another_process_ingests_and_prunes(make_assistant, tmp_path, capsys):
    from assistant.apps.server import create_app

    folder, data = tmp_path / "stories", tmp_path / "data"
    base, new, uploads = list(range(0, 20)), list(range(100, 160)), [200, 201]
    number_of = {place(n): n for n in base + new + uploads}
    write_stories(folder, base)
    assistant = make_assistant(data_dir=data)
    assert assistant.ingest([folder]).added == 20
    rng = random.Random(17)
    gone = rng.sample(new, 10)
    times: dict[str, float] = {}

    def until(check, what: str, limit: float = 60) -> float:
        """Seconds until ``check()`` holds (asked again and again)."""
        started = time.time()
        while not check():
            assert time.time() < started + limit, what
            time.sleep(0.2)
        return time.time() - started

    with LiveServer(create_app(assistant, assistant.settings)) as live:
        askers = [Asker(live.port, lambda i, r=random.Random(k): question_for(r.choice(base + new + uploads)))
                  for k in range(2)]
        probe = Asker(live.port, None)
        for asker in askers:
            asker.thread.start()
        time.sleep(1.0)
        write_stories(folder, new)
        times["ingest_start"] = time.time()
        ingest = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(folder)], env=cli_env(data),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        # Meanwhile an upload through the API: it waits for the other process's ingest, questions do not.
        time.sleep(2.0)
        uploaded = {f"story_{n}.json": json.dumps(story(n)).encode() for n in uploads}
        upload = httpx.post(f"http://127.0.0.1:{live.port}/api/articles", timeout=600,
                            files=[("files", (name, body, "application/json")) for name, body in uploaded.items()])
        times["upload_end"] = time.time()
        out, err = ingest.communicate(timeout=600)
        times["ingest_end"] = time.time()
        assert ingest.returncode == 0, err[-3000:]
        assert "Indexed 60 new" in out, out
        assert upload.status_code == 201 and upload.json()["added"] == 2, upload.text
        newcomer = next(n for n in new if n not in gone)
        caught_up = until(lambda: article_id(newcomer) in probe.ask(question_for(newcomer)).get("cited", ()),
                          "the server never answered from the new articles")
        times["ingest_seen"] = time.time()
        for n in gone:
            (folder / f"story_{n:03d}.json").unlink()
        write_stories(folder, uploads)  # the uploaded articles are kept by the prune: their files are there too
        times["prune_start"] = time.time()
        prune = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(folder), "--prune"],
                               env=cli_env(data), capture_output=True, text=True, timeout=600, cwd=ROOT)
        times["prune_end"] = time.time()
        assert prune.returncode == 0, prune.stderr[-3000:]
        assert "10 removed" in prune.stdout, prune.stdout
        pruned_seen = until(lambda: article_id(gone[0]) not in probe.ask(question_for(gone[0])).get("cited", ()),
                            "a pruned article was still cited")
        times["prune_seen"] = time.time()
        time.sleep(CLIENT_SECONDS)
        for asker in askers:
            asker.stop.set()
        for asker in askers:
            asker.thread.join(timeout=300)
        probe.conn.close()
    results = [r for asker in askers for r in asker.results]
    failed = [r for r in results if r["status"] != 200]
    dropped = sum(asker.dropped for asker in askers) + probe.dropped
    assert not failed, failed[:3]
    assert dropped == 0
    wrong = []
    for r in results:
        n = number_of[r["question"].split(" of ")[1].removesuffix(" welcome?")]
        present = n in base or (times["ingest_seen"] <= r["at"] and (n not in gone or r["at"] < times["prune_start"]))
        absent = n not in base and (r["at"] < times["ingest_start"] or (n in gone and r["at"] > times["prune_seen"]))
        if (present and article_id(n) not in r["cited"]) or (absent and article_id(n) in r["cited"]):
            wrong.append((n, r))
    assert not wrong, f"{len(wrong)} answers from the wrong index version: {wrong[:3]}"
    during = [r for r in results if times["ingest_start"] <= r["at"] <= times["ingest_end"]
              or times["prune_start"] <= r["at"] <= times["prune_end"]]
    assert len(during) >= 10, "the questions did overlap the other process's writes"
    seconds = sorted(r["seconds"] for r in during)
    with capsys.disabled():
        print(f"\n[reliability] server during another process's writes: {len(results)} questions by 2 clients "
              f"({len(during)} while it wrote), {len(failed)} failed, {dropped} dropped connections, {len(wrong)} "
              f"answered from the wrong version; during the writes p50 {seconds[len(seconds) // 2]:.2f}s, p95 "
              f"{seconds[int(len(seconds) * 0.95)]:.2f}s; ingest of 60 took "
              f"{times['ingest_end'] - times['ingest_start']:.1f}s, prune of 10 "
              f"{times['prune_end'] - times['prune_start']:.1f}s; an API upload sent 2s into the ingest returned "
              f"{times['upload_end'] - times['ingest_start'] - 2:.1f}s later; answered from the new articles {caught_up:.1f}s "
              f"after the ingest ended, pruned ones gone {pruned_seen:.1f}s after the prune ended")


# --- kill -9 at each write step and at random moments ------------------------------------------------
CRASH_SCRIPT = r'''
import os, pickle, sys, time
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
from assistant import Settings, build_assistant

class PrecomputedOnly:
    """The embedder identity of the index; vectors come precomputed (this process only writes)."""
    def __init__(self, identity):
        self.identity, self.name, self.max_tokens = identity, identity, 256
    def embed(self, texts):
        raise AssertionError("nothing is embedded here")
    count_tokens = embed

articles, ahead, identity = pickle.load(open(sys.argv[1], "rb"))
assistant = build_assistant(Settings(data_dir=sys.argv[2]), embedder=PrecomputedOnly(identity))
print("ready", flush=True)
started = time.perf_counter()
report = assistant.indexer.ingest_articles(articles, prune=True, ahead=ahead)
print("done", round(time.perf_counter() - started, 3), report.added, report.updated, report.removed, flush=True)
'''

V1_SENTENCES = {0: 18, 1: 10, 2: 8, 3: 3, 4: 3, 5: 3, 6: 12, 7: 3}  # several chunks for some
CHANGED = {0: 8, 1: 18, 2: 8}  # new sentence counts: fewer chunks, more chunks, as many (new text)
ADDED, REMOVED = (10, 11, 12), (5, 7)


class Remembering:
    """The real embedder, remembering each text's vector: every trial re-runs an ingest of the same
    files, and embedding them again each time would only measure the model."""

    def __init__(self, model):
        self.model, self.vectors = model, {}
        self.name, self.identity = model.name, model.identity

    @property
    def max_tokens(self) -> int:
        return self.model.max_tokens

    def count_tokens(self, texts):
        return self.model.count_tokens(texts)

    def embed(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.model.embed(missing)))
        return np.asarray([self.vectors[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)


@pytest.fixture(scope="module")
def remembering(embedder):
    return Remembering(embedder)


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory, remembering):
    """v1 indexed (a template data dir), v2's files and precomputed vectors, and a clean v2 index."""
    from assistant import Settings, build_assistant
    from assistant.ingest.readers import read_paths

    embedder = remembering
    root = tmp_path_factory.mktemp("crash")
    v1, v2 = root / "v1", root / "v2"
    for n, count in V1_SENTENCES.items():
        write_stories(v1, [n], 1, count)
    for n, count in V1_SENTENCES.items():
        if n not in REMOVED:
            write_stories(v2, [n], 2 if n in CHANGED else 1, CHANGED.get(n, count))
    write_stories(v2, ADDED, 1, 4)
    template = build_assistant(Settings(data_dir=root / "template"), embedder=embedder)
    assert template.ingest([v1]).added == len(V1_SENTENCES)
    articles = read_paths([v2]).articles
    ahead = template.indexer.embed_ahead(articles)
    template.store.client.close()
    job = root / "job.pickle"
    job.write_bytes(pickle.dumps((articles, ahead, embedder.identity)))
    script = root / "crash_ingest.py"
    script.write_text(CRASH_SCRIPT)
    reference = build_assistant(Settings(data_dir=root / "reference"), embedder=embedder)
    assert reference.ingest([v2]).added == len(articles)
    v1_hashes = {a.id: a.content_hash for a in read_paths([v1]).articles}
    return {"root": root, "v2": v2, "job": job, "script": script, "reference": reference, "articles": articles,
            "v1_hashes": v1_hashes}


def snapshot(assistant) -> dict:
    """Everything the index holds, for comparing two indexes (origins, which name files, left out)."""
    store = assistant.store
    chunks = store.collection.get(include=["documents", "metadatas", "embeddings"])
    sentences = store.sentences.get(include=["metadatas", "embeddings"])
    drop = {"origin"}
    return {
        "chunks": {cid: (doc, {k: v for k, v in meta.items() if k not in drop})
                   for cid, doc, meta in zip(chunks["ids"], chunks["documents"], chunks["metadatas"])},
        "chunk_vectors": dict(zip(chunks["ids"], np.asarray(chunks["embeddings"]))),
        "sentences": dict(zip(sentences["ids"], sentences["metadatas"])),
        "sentence_vectors": dict(zip(sentences["ids"], np.asarray(sentences["embeddings"]))),
    }


def assert_same_index(assistant, reference, queries) -> None:
    got, want = snapshot(assistant), snapshot(reference)
    assert got["chunks"] == want["chunks"], "chunks differ from a clean index of the same files"
    assert got["sentences"] == want["sentences"], "sentence records differ"
    for kind in ("chunk_vectors", "sentence_vectors"):
        assert all(np.allclose(got[kind][i], want[kind][i], atol=2e-4) for i in want[kind]), kind
    assert not assistant.indexer.journal.pending() and not assistant.store.interrupted()
    assistant.bm25.ensure_fresh()
    state = assistant.bm25.state()
    assert state.settled and sorted(state.ids) == sorted(got["chunks"]), "BM25 holds exactly the chunks in Chroma"
    for query in queries:
        def ranked(index):
            return {cid: round(score, 4) for cid, score in index.bm25.search(query, 1000)}
        assert ranked(assistant) == ranked(reference), query
        vector = reference.indexer.embedder.embed([query])[0]
        assert [c.id for c, _ in assistant.store.query(vector, 5, None)] == \
            [c.id for c, _ in reference.store.query(vector, 5, None)], query


def run_crash(setup, data: Path, env: dict, kill_after: float | None = None) -> tuple[str, float | None]:
    """Run the ingest subprocess on ``data``; kill -9 it ``kill_after`` seconds after it is ready.
    Returns how it ended ("killed", "crashed" by its own hook, "done") and its write time when done."""
    proc = subprocess.Popen([sys.executable, str(setup["script"]), str(setup["job"]), str(data)], cwd=ROOT,
                            env=cli_env(data, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-3000:]
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    if proc.returncode == -signal.SIGKILL:
        return ("killed" if kill_after is not None else "crashed"), None
    assert proc.returncode == 0, err[-3000:]
    return "done", float(out.split()[1])


def never_lost(assistant, setup) -> None:
    """Right after a crash: every article of v1 that v2 keeps is there whole, in its old or new
    version (in place, or staged for the repair to put in place)."""
    now = {a.id: a.content_hash for a in setup["articles"]}
    kept = [aid for aid in setup["v1_hashes"] if aid in now]
    scan = assistant.store.scan()
    from assistant.index.store import complete_hash

    for aid in kept:
        records = scan.get(aid)
        assert records is not None, f"article {aid} lost"
        versions = {records.content_hash} | {h for h, staged in records.staged.items() if complete_hash(staged)}
        assert versions & {setup["v1_hashes"][aid], now[aid]}, f"article {aid} has no whole version"


STEPS = [("journal", 1), ("sentences", 1), ("sentences", 4), ("staged", 1), ("staged", 3), ("delete", 1),
         ("delete", 2), ("chunks", 1), ("chunks", 4), ("prune", 1), ("bump", 1), ("bump", 2)]


def test_kill_9_at_every_write_step_and_at_random_moments_loses_nothing(crash_setup, remembering, tmp_path, capsys):
    from assistant import Settings, build_assistant
    from assistant.apps.server import prepare_index

    setup = crash_setup
    queries = [f"{place(n)} harbour plan" for n in (0, 1, 2, 10, 6)] + ["engineers second pier revision 2"]
    timings = []
    for i in range(2):  # how long the writes take when nothing kills them (the second run is warm)
        calibration = tmp_path / f"calibrate{i}"
        shutil.copytree(setup["root"] / "template", calibration)
        ended, seconds = run_crash(setup, calibration, {})
        assert ended == "done"
        timings.append(seconds)
    write_seconds = min(timings)
    rng = random.Random(1717)
    trials = [("step", step, n) for step, n in STEPS] + \
        [("random", "", rng.uniform(0.0, write_seconds)) for _ in range(RANDOM_TRIALS)]
    outcomes = {"killed": 0, "crashed": 0, "done": 0}
    recovered_by_start = 0
    for i, (kind, step, value) in enumerate(trials):
        data = tmp_path / f"trial{i}"
        shutil.copytree(setup["root"] / "template", data)
        env = {"ASSISTANT_TEST_CRASH_AT": step, "ASSISTANT_TEST_CRASH_AFTER": str(value)} if kind == "step" else {}
        ended, _ = run_crash(setup, data, env, kill_after=value if kind == "random" else None)
        outcomes[ended] += 1
        if kind == "step":
            assert ended == "crashed", f"the process did not reach {step} #{value}"
        assistant = build_assistant(Settings(data_dir=data), embedder=remembering)
        never_lost(assistant, setup)
        if kind == "step" and i % 2 == 0:
            # A server start alone (no files: as after an upload) finishes the interrupted ingest.
            prepare_index(assistant, echo=lambda *_: None)
            recovered_by_start += 1
        else:
            report = assistant.ingest([setup["v2"]], prune=True)
            assert report.failed == 0
        assert_same_index(assistant, setup["reference"], queries)
        second = assistant.ingest([setup["v2"]], prune=True)
        assert (second.added, second.updated, second.removed, second.chunks_embedded) == (0, 0, 0, 0), \
            "nothing left to do after the re-run: never 'unchanged' while something was missing, and not after"
        assistant.store.client.close()
        shutil.rmtree(data, ignore_errors=True)
    with capsys.disabled():
        print(f"\n[reliability] kill -9 trials: {len(trials)} ({len(STEPS)} at write steps, {RANDOM_TRIALS} at random "
              f"moments within {write_seconds:.2f}s): {outcomes['crashed']} killed by the step hook, "
              f"{outcomes['killed']} by SIGKILL, {outcomes['done']} finished first; after each, "
              f"{recovered_by_start} by a server start (journal), the rest by ingest again: index identical to a "
              "clean one (chunks, sentence vectors, BM25, dense), nothing lost or duplicated")


# --- a Chroma server that dies -----------------------------------------------------------------------
class ChromaProcess:
    """`chroma run` on a fixed path and port, stoppable (kill -9) and restartable."""

    def __init__(self, path: Path, log: Path):
        self.path, self.log, self.port = path, log, free_port()
        self.exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        self.proc = None

    def start(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([self.exe, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.proc.kill()
                    pytest.fail(f"chroma server did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.2)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def chroma(tmp_path):
    server = ChromaProcess(tmp_path / "chroma-server", tmp_path / "chroma.log").start()
    yield server
    server.stop()


def test_chroma_killed_mid_ingest_then_restarted(chroma, tmp_path):
    folder = tmp_path / "stories"
    write_stories(folder, range(12), 1, 3)
    settings = dict(chroma_url=f"http://127.0.0.1:{chroma.port}", collection="outage")
    env = cli_env(tmp_path / "cli-data", ASSISTANT_CHROMA_URL=f"http://127.0.0.1:{chroma.port}", ASSISTANT_COLLECTION="outage")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(folder)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    while b"Embedding" not in seen:  # connected, articles read and journaled: now embedding
        byte = proc.stderr.read(1)
        assert byte, f"the ingest ended early: {seen.decode(errors='replace')}"
        seen += byte
    chroma.kill()
    out, err = proc.communicate(timeout=300)
    err = (seen + err).decode(errors="replace")
    assert proc.returncode == 2, err[-2000:]
    assert f"Error: Cannot reach the Chroma server at 127.0.0.1:{chroma.port}" in err
    assert "Traceback" not in err
    chroma.start()
    again = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(folder)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "finished an interrupted ingest (12 articles written again)" in again.stdout, again.stdout
    from assistant import Settings, build_assistant

    reader = build_assistant(Settings(data_dir=tmp_path / "reader", **settings))  # the CLI's backend (auto)
    assert len(reader.articles()) == 12 and reader.store.count() == 12
    reader.bm25.ensure_fresh()
    assert sorted(reader.bm25.state().ids) == sorted(c.id for c in reader.store.iter_chunks())
    assert article_id(7) in {c.article_id for c in reader.ask(question_for(7)).citations}


def test_chroma_killed_mid_question_gives_503_then_recovers(chroma, tmp_path, make_assistant, capsys):
    from assistant.apps.server import create_app

    folder = tmp_path / "stories"
    write_stories(folder, range(10))
    settings = dict(chroma_url=f"http://127.0.0.1:{chroma.port}", collection="asking")
    assistant = make_assistant(**settings)
    assert assistant.ingest([folder]).added == 10
    with LiveServer(create_app(assistant, assistant.settings)) as live:
        client = Asker(live.port, None)
        assert client.ask(question_for(3))["status"] == 200
        sock = client.conn.sock
        chroma.kill()
        down = [client.ask(question_for(n)) for n in range(4)]
        assert [r["status"] for r in down] == [503] * 4, down
        error = down[0]["body"]["error"]
        assert error["type"] == "unavailable" and f"Cannot reach the Chroma server at 127.0.0.1:{chroma.port}" in \
            error["message"], error
        client.conn.request("GET", "/api/health")
        health = client.conn.getresponse()
        health_body = json.loads(health.read())
        assert health.status == 503 and health_body["status"] == "unavailable"
        assert health.getheader("retry-after")
        assert client.dropped == 0 and client.conn.sock is sock, "the connection stayed open through the outage"
        # Two clients keep asking through the outage: every answer is a 503, no connection drops.
        outage = [Asker(live.port, lambda i: question_for(i % 10)) for _ in range(2)]
        for asker in outage:
            asker.thread.start()
        time.sleep(OUTAGE_SECONDS)
        for asker in outage:
            asker.stop.set()
            asker.thread.join(timeout=60)
            asker.conn.close()
        statuses = [r["status"] for asker in outage for r in asker.results]
        assert statuses and set(statuses) == {503}, set(statuses)
        assert sum(asker.dropped for asker in outage) == 0
        client.conn.close()  # idle through the outage, maybe past uvicorn's keep-alive timeout (5 s)
        client.conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=120)
        chroma.start()
        started = time.time()
        back = client.ask(question_for(3))
        assert back["status"] == 200 and article_id(3) in back["cited"]
        client.conn.request("GET", "/api/health")
        assert client.conn.getresponse().status == 200
        recovered = time.time() - started
        client.conn.close()
    ask = subprocess.run([sys.executable, "-m", "assistant", "ask", "Who welcomed the plan?"], cwd=ROOT,
                         env=cli_env(tmp_path / "cli", ASSISTANT_CHROMA_URL=f"http://127.0.0.1:{free_port()}"),
                         capture_output=True, text=True, timeout=300)
    assert ask.returncode == 2 and "Cannot reach the Chroma server at 127.0.0.1:" in ask.stderr, ask.stderr
    assert "Traceback" not in ask.stderr
    with capsys.disabled():
        print(f"\n[reliability] Chroma down mid-question: 4/4 answers 503 with the server named, health 503, "
              f"connection kept; two clients during {OUTAGE_SECONDS:.0f}s of outage: {len(statuses)} answers, all "
              f"503, 0 dropped connections; first answer after the restart in {recovered:.2f}s")


def test_in_process_reads_raise_index_unavailable_not_httpx(chroma, make_assistant, tmp_path):
    from assistant.errors import IndexUnavailable

    folder = tmp_path / "stories"
    write_stories(folder, range(3))
    assistant = make_assistant(chroma_url=f"http://127.0.0.1:{chroma.port}",
                               collection="inproc")
    assistant.ingest([folder])
    chroma.kill()
    for call in (lambda: assistant.ask(question_for(1)), assistant.articles, lambda: assistant.ingest([folder])):
        with pytest.raises(IndexUnavailable, match=f"Cannot reach the Chroma server at 127.0.0.1:{chroma.port}"):
            call()


# --- nothing before login ------------------------------------------------------------------------------
def test_with_an_api_key_the_chat_shows_nothing_of_the_index_before_login(make_assistant, tmp_path):
    from fastapi.testclient import TestClient

    from assistant.apps.server import create_app

    folder = tmp_path / "stories"
    write_stories(folder, range(3))
    assistant = make_assistant(api_key="k3y")
    assistant.ingest([folder])
    with TestClient(create_app(assistant, assistant.settings)) as client:
        page = client.get("/", headers={"Accept-Encoding": "gzip, br"})
        assert page.status_code == 200 and "auth_required" in page.text
        for secret in [*OUTLETS, str(ROOT), str(tmp_path)]:
            assert secret not in page.text, secret
        started = time.perf_counter()
        beat = client.get("/gradio_api/heartbeat/some-session")
        assert beat.status_code == 401 and time.perf_counter() - started < 5
        assert client.get("/gradio_api/runs").status_code in (200, 401, 404)
        assert all(s not in client.get("/gradio_api/runs").text for s in OUTLETS)
        assert client.post("/login", data={"username": "me", "password": "k3y"}).json() == {"success": True}
        logged_in = client.get("/")
        assert "named_endpoints" in logged_in.text and '"named_endpoints": {}' not in logged_in.text


# --- pieces of the above, each on its own ------------------------------------------------------------
def test_a_request_keeps_its_bm25_state_while_a_new_one_is_swapped_in(make_assistant, tmp_path):
    folder = tmp_path / "stories"
    write_stories(folder, range(5), sentences=3)
    assistant = make_assistant()
    assistant.ingest([folder])
    bm25 = assistant.bm25
    with bm25.pinned() as state:
        rows = bm25.rows([c for c in state.ids])
        write_stories(folder, range(30, 34), sentences=3)
        assistant.ingest([folder])  # rebuilds and swaps in a bigger state meanwhile
        assert bm25._state is not state and len(bm25._state.ids) > len(state.ids)
        scores = bm25.chunk_scores(f"{place(2)} harbour")
        assert len(scores) == len(state.ids) == len(rows) and bm25.search(place(30), 3) == []
    assert bm25.search(place(30), 1)[0][0].startswith(article_id(30))


def test_chunks_bm25_knows_but_chroma_lost_are_skipped(make_assistant, tmp_path):
    folder = tmp_path / "stories"
    write_stories(folder, range(6))
    assistant = make_assistant()
    assistant.ingest([folder])
    assistant.bm25.ensure_fresh()
    with assistant.bm25.pinned():
        # Another writer deletes an article between this request's BM25 search and its Chroma reads.
        assistant.store.collection.delete(where={"article_id": article_id(2)})
        answer = assistant.ask(question_for(2))
    assert article_id(2) not in {c.article_id for c in answer.citations}
