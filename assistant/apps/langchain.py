"""A LangChain retriever over the assistant's hybrid retrieval."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from assistant.filters import SearchFilters


class NewsRetriever(BaseRetriever):
    """Documents are chunks; metadata carries the article's fields, offsets and scores.

        retriever = NewsRetriever(assistant=build_assistant(), k=5)
        docs = retriever.invoke("What did the expert say about China?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Any = Field(description="An assistant built by assistant.build_assistant().")
    k: int = Field(10, ge=1, le=100)
    filters: SearchFilters = Field(default_factory=SearchFilters)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = self.assistant.search(query, self.k, self.filters)
        return [
            Document(id=p.chunk_id, page_content=p.text, metadata=p.model_dump(exclude={"text"}))
            for p in passages
        ]
