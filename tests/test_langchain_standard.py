"""LangChain's standard retriever suite (langchain-tests) against NewsRetriever on the bundled corpus."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.apps.langchain import NewsRetriever

QUERY = "What did the expert say about China?"

# The suite's one coroutine test needs pytest-asyncio, which runs only marked tests here (strict
# mode). Overriding it in the subclass to add the mark is refused by the suite's own
# test_no_overrides_DO_NOT_OVERRIDE, and a class- or module-wide mark warns on every sync test,
# so the mark goes on the inherited function itself (the object stays the same).
pytest.mark.asyncio(RetrieversIntegrationTests.test_ainvoke_returns_documents)


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    """Every standard test runs unmodified; the retriever searches the real indexed corpus."""

    @pytest.fixture(autouse=True)
    def _assistant(self, seed_index):
        # Bound to the same instance as the test, so the properties below can read it.
        self.assistant = seed_index

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"assistant": self.assistant}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


def test_invoke_k_returns_the_top_k_of_search(seed_index):
    retriever = NewsRetriever(assistant=seed_index)  # the field's default k is 10
    docs = retriever.invoke(QUERY, k=2)
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == [p.chunk_id for p in seed_index.search(QUERY, 2)]
