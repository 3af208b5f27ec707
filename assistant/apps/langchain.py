"""A LangChain retriever over the assistant's hybrid retrieval."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from assistant.filters import SearchFilters

K_MIN, K_MAX = 1, 100

# Keyword arguments LangChain's ``invoke`` itself may forward (``verbose`` is read by
# ``BaseRetriever.invoke`` and passed on to the retriever); they are not search options.
_LANGCHAIN_KWARGS = {"verbose"}


class NewsRetriever(BaseRetriever):
    """Documents are chunks; metadata carries the article's fields, offsets and scores.

        retriever = NewsRetriever(assistant=build_assistant(), k=5)
        docs = retriever.invoke("What did the expert say about China?")
        docs = retriever.invoke("What did the expert say about China?", k=2,
                                filters={"sources": ["Gazette"]})

    ``k`` and ``filters`` given at call time replace the fields for that call only.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any = Field(description="An assistant built by assistant.build_assistant().")
    k: int = Field(10, ge=K_MIN, le=K_MAX)
    filters: SearchFilters = Field(default_factory=SearchFilters)

    def _search_options(self, k: int | None, filters: SearchFilters | dict | None,
                        extra: dict[str, Any]) -> tuple[int, SearchFilters]:
        unknown = set(extra) - _LANGCHAIN_KWARGS
        if unknown:
            raise TypeError(f"NewsRetriever got unexpected keyword argument(s): {', '.join(sorted(unknown))}; "
                            "it accepts k and filters")
        if k is None:
            k = self.k
        elif isinstance(k, bool) or not isinstance(k, int) or not K_MIN <= k <= K_MAX:
            raise ValueError(f"k must be an integer from {K_MIN} to {K_MAX}, got {k!r}")
        if filters is None:
            filters = self.filters
        elif not isinstance(filters, SearchFilters):
            filters = SearchFilters.model_validate(filters)
        return k, filters

    def _documents(self, query: str, k: int, filters: SearchFilters) -> list[Document]:
        passages = self.assistant.search(query, k, filters)
        return [
            Document(id=p.chunk_id, page_content=p.text, metadata=p.model_dump(exclude={"text"}))
            for p in passages[:k]
        ]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, filters: SearchFilters | dict | None = None,
                                **kwargs: Any) -> list[Document]:
        return self._documents(query, *self._search_options(k, filters, kwargs))

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       k: int | None = None, filters: SearchFilters | dict | None = None,
                                       **kwargs: Any) -> list[Document]:
        k, filters = self._search_options(k, filters, kwargs)
        return await run_in_executor(None, self._documents, query, k, filters)
