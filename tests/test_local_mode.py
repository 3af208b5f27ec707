"""The "local" answer mode offered next to the configured ones, and follow-ups that survive a failing chat model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant import Settings
from assistant.answer.prompts import Prompts
from assistant.errors import ConfigError
from assistant.query.conversation import Turn, condense
from assistant.service import shared as shared_module
from assistant.service.shared import SharedAssistant
from fakes import ScriptedChatModel


def _shared(**settings) -> SharedAssistant:
    return SharedAssistant(SimpleNamespace(settings=Settings(**settings), profile=None))


def test_local_mode_is_offered_exactly_when_the_extra_is_installed(monkeypatch):
    monkeypatch.setattr(shared_module, "local_model_missing", lambda: None)
    assert _shared().answer_modes() == ["extractive", "local"]
    assert _shared(answer_mode="llm", llm_provider="ollama", llm_model="m").answer_modes() == \
        ["extractive", "llm", "local"]
    assert _shared(answer_mode="llm", llm_provider="local").answer_modes() == ["extractive", "llm"]  # llm is it

    monkeypatch.setattr(shared_module, "local_model_missing", lambda: "xllamacpp is not installed")
    shared = _shared()
    assert shared.answer_modes() == ["extractive"]
    with pytest.raises(ConfigError, match="xllamacpp is not installed"):
        shared.ask("What did the expert say about China?", mode="local")


def test_a_failing_chat_model_leaves_the_follow_up_as_typed_and_says_so():
    def down(prompt):
        raise ConnectionError("connection refused")

    model = ScriptedChatModel(replies=[down])
    history = [Turn(question="Where do the night trams run?", answer="In Lindenberg. [1]")]
    follow = condense("How often do they run?", history, chat_model=model, prompts=Prompts(Settings().prompts_dir))
    assert len(model.calls) == 1
    assert follow.question == "How often do they run?" and follow.how != "llm"
    note = " ".join(follow.as_trace()["notes"])
    assert "condense prompt failed" in note and "ConnectionError: connection refused" in note
