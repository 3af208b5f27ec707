"""A scripted LangChain chat model: the only fake in the answer tests (the real model is the edge).

Each reply is a string or a function of the prompt text (so a script can cite the passage that
retrieval happened to number 3). Replies stream a word at a time, like a real model, and every
call's messages are kept for assertions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

Reply = str | Callable[[str], str]


class ScriptedChatModel(BaseChatModel):
    replies: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage]) -> str:
        self.calls.append(list(messages))
        if not self.replies:
            raise AssertionError("the scripted chat model ran out of replies")
        reply = self.replies.pop(0)
        return reply(prompt_text(messages)) if callable(reply) else reply

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._next(messages)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for token in re.findall(r"\S+\s*|\s+", self._next(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def prompt_text(messages: list[BaseMessage]) -> str:
    return "\n\n".join(str(m.content) for m in messages)


def passage_number(prompt: str, containing: str) -> int:
    """The number the prompt gives the fenced passage containing ``containing``."""
    for match in re.finditer(r"<<<PASSAGE (\d+) \|[^\n]*>>>\n(.*?)\n<<<END PASSAGE \1>>>", prompt, re.DOTALL):
        if containing in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"no passage in the prompt contains {containing!r}")
