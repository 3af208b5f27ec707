"""The measurement harness: ``python -m benchmarks COMMAND`` (see benchmarks/__main__.py)."""
