"""Answer writers and what keeps them honest (see docs/answers.md).

- ``extractive`` / ``llm``: the two writers (same ``answer`` / ``answer_stream`` interface)
- ``composer``: extractive text with speakers, dates and outlets
- ``attribution`` (+ ``quotations``, ``mentions``, ``articles``): who says each sentence
- ``verification``: every answer sentence checked against what it cites
- ``timeframes``, ``questions``, ``request``: what the question asks for
- ``prompts``: strict templates from ``prompts/``
"""
