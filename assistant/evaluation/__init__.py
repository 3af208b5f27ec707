"""Evaluation of retrieval and answers on question sets (``assistant eval``).

``datasets`` reads question files (the project's JSONL and MultiHop-RAG's JSON), ``metrics``
holds the scoring definitions as small pure functions, ``runner`` asks an assistant every
question and summarises the scores, ``report`` renders tables, Markdown, HTML and charts.
Nothing heavy is imported here.
"""
