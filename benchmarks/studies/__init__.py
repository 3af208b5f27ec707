"""Studies: measurements behind a past decision, kept so that the decision can be checked again
(``python -m benchmarks studies NAME``). Their pages are in docs/research/."""
