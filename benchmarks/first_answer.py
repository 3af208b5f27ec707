"""Server start and the first answer after it.

    python benchmarks/first_answer.py DATA_DIR COLLECTION [--wait SECONDS]

Starts ``assistant serve`` on an existing index, waits until ``/api/health`` answers, waits
``--wait`` seconds more (a user reading the page), then times one ``/api/ask``. Prints the figures;
docs/research/speed.md ("Scale — what the figures say") records what was seen.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("collection")
    parser.add_argument("--wait", type=float, default=10.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
           "ASSISTANT_DATA_DIR": args.data_dir, "ASSISTANT_COLLECTION": args.collection,
           "ASSISTANT_FEED_REFRESH_MINUTES": "0"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.perf_counter() - started > 600:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
        ready = time.perf_counter() - started
        time.sleep(args.wait)
        body = json.dumps({"question": "What did the Federal Reserve decide about interest rates?"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", body, {"Content-Type": "application/json"})
        asked = time.perf_counter()
        urllib.request.urlopen(request, timeout=300).read()
        print(f"ready {ready:.2f} s; asked {args.wait:g} s later; first answer {time.perf_counter() - asked:.2f} s")
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
