"""LLM answers: any LangChain chat model writes from fenced passages; the verifier checks it.

The model sees numbered passages (labelled untrusted data) and must cite ``[n]`` after every
sentence. Its text is streamed sentence by sentence *after* verification, so what reaches the
user never contains an invented citation or an unsupported sentence (those are removed or
flagged, and the decision is in ``answer.trace["verification"]``). Each citation quotes the
sentence of the cited passage that best supports the answer, with its exact article span.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.errors import ConfigError
from assistant.models import Answer, Citation, Passage
from assistant.text.sentences import split_sentences
from assistant.answer.articles import ArticleContext
from assistant.answer.composer import as_of
from assistant.answer.prompts import Prompts
from assistant.answer.request import NO_ANSWER, AnswerRequest, no_answer
from assistant.answer.verification import MARKER, Verified, Verifier, overlap

INSTALL_HINT = "pip install 'news-assistant[llm]'"


def make_chat_model(settings):
    """The configured LangChain chat model; the provider package is imported only here."""
    provider = settings.llm_provider
    if provider == "none":
        raise ConfigError("ASSISTANT_ANSWER_MODE=llm needs a chat model: set ASSISTANT_LLM_PROVIDER to 'ollama' "
                          "or 'openai' and ASSISTANT_LLM_MODEL, or use ASSISTANT_ANSWER_MODE=extractive")
    if not settings.llm_model:
        raise ConfigError(f"ASSISTANT_LLM_MODEL is empty; name the {provider} model to use "
                          "(e.g. 'llama3.1' for Ollama, 'gpt-4o-mini' for OpenAI)")
    if provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise ConfigError(f"The Ollama provider needs langchain-ollama: {INSTALL_HINT}") from exc
        kwargs = {"model": settings.llm_model, "temperature": settings.llm_temperature}
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        return ChatOllama(**kwargs)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ConfigError(f"The OpenAI provider needs langchain-openai: {INSTALL_HINT}") from exc
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if not key and not settings.llm_base_url:
        raise ConfigError("No API key for the 'openai' provider: set OPENAI_API_KEY or ASSISTANT_LLM_API_KEY "
                          "(a local OpenAI-compatible server at ASSISTANT_LLM_BASE_URL may need none)")
    kwargs = {"model": settings.llm_model, "temperature": settings.llm_temperature, "timeout": settings.llm_timeout,
              "api_key": key or "not-needed"}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    return ChatOpenAI(**kwargs)


def fence(n: int, passage: Passage, speakers: list[str]) -> str:
    """One passage as untrusted data between markers it cannot forge."""
    text = passage.text.replace("<<<", "‹‹‹").replace(">>>", "›››")
    meta = [f"outlet: {passage.source or 'unknown'}", f"published: {as_of(passage.published_at) or 'undated'}",
            f"title: {passage.title}"]
    if speakers:
        meta.append("speakers: " + "; ".join(speakers))
    return f"<<<PASSAGE {n} | " + " | ".join(meta) + f">>>\n{text}\n<<<END PASSAGE {n}>>>"


class LLMAnswerer:
    mode = "llm"

    def __init__(self, chat_model, prompts: Prompts, verifier: Verifier, context: ArticleContext | None = None,
                 max_passages: int = 8, max_sentences: int = 6, model_name: str = ""):
        self.chat_model = chat_model
        self.prompts = prompts
        self.verifier = verifier
        self.context = context or ArticleContext()
        self.max_passages = max_passages
        self.max_sentences = max_sentences
        self.model_name = model_name or type(chat_model).__name__

    def answer(self, question: str, passages: list[Passage], request: AnswerRequest | None = None) -> Answer:
        final = None
        for piece in self.answer_stream(question, passages, request):
            final = piece
        return final

    def answer_stream(self, question: str, passages: list[Passage],
                      request: AnswerRequest | None = None) -> Iterator[str | Answer]:
        """Verified text pieces (a sentence at a time) as the model writes, then the Answer."""
        request = request or AnswerRequest(question)
        shown = passages[: self.max_passages]
        evidence = {n: p.text for n, p in enumerate(shown, start=1)}
        messages = self._messages(question, shown, request)
        trace: dict = {"llm": {"model": self.model_name}, "prompt": [{"role": r, "content": c} for r, c in messages],
                       "request": request.as_trace()}
        if request.unknown_outlets:
            names = " or ".join(request.unknown_outlets)
            trace["abstain_reason"] = f"no indexed articles from {names}"
            text = no_answer(f"no articles from {names} are indexed")
            yield text
            yield Answer(question=question, answer=text, abstained=True, passages=passages, trace=trace, mode=self.mode)
            return
        raw, written, checks = "", [], []
        buffer = ""
        for chunk in self.chat_model.stream(messages):
            piece = _text(chunk)
            raw += piece
            buffer += piece
            complete, buffer = _complete_sentences(buffer)
            if complete:
                verified = self.verifier.verify(complete, evidence)
                checks += verified.checks
                if verified.text:
                    out = (" " if written else "") + verified.text
                    written.append(verified.text)
                    yield out
        if buffer.strip():
            verified = self.verifier.verify(buffer, evidence)
            checks += verified.checks
            if verified.text:
                yield (" " if written else "") + verified.text
                written.append(verified.text)
        result = Verified(" ".join(written), checks)
        trace["raw_answer"] = raw
        trace["verification"] = result.as_trace()
        abstained = not result.text or raw.strip().startswith(NO_ANSWER[:20])
        citations = [] if abstained else self._citations(result, shown)
        if not abstained and not citations:
            abstained = True
        if abstained:
            text = NO_ANSWER
            trace.setdefault("abstain_reason", "the model found no answer" if raw.strip().startswith(NO_ANSWER[:20])
                             else "verification removed every sentence")
            if not written:
                yield text
        else:
            text = result.text
        yield Answer(question=question, answer=text, abstained=abstained, citations=citations, passages=passages,
                     trace=trace, mode=self.mode)

    # --- prompt -------------------------------------------------------------------------
    def _messages(self, question: str, passages: list[Passage], request: AnswerRequest) -> list[tuple[str, str]]:
        blocks = []
        for n, passage in enumerate(passages, start=1):
            speech = self.context.speech(passage)
            speakers = []
            for span, attribution in zip(speech.sentences, speech.attributions):
                if attribution.speaker and passage.start <= span.start < passage.end:
                    role = speech.role_of(attribution.speaker)
                    label = f"{attribution.speaker} ({role})" if role and len(role) < 80 else attribution.speaker
                    if label not in speakers:
                        speakers.append(label)
            blocks.append(fence(n, passage, speakers))
        time_note = ""
        if request.timeframe and request.timeframe.is_filter:
            tf = request.timeframe
            time_note = (f"Only articles published {('from ' + tf.since.isoformat()) if tf.since else ''}"
                         f"{(' to ' + tf.until.isoformat()) if tf.until else ''} were searched.")
        system = self.prompts.render("answer_system.txt", no_answer=NO_ANSWER, max_sentences=self.max_sentences)
        user = self.prompts.render("answer_user.txt", question=question, time_note=time_note,
                                   passages="\n\n".join(blocks) if blocks else "(no passages were found)")
        return [("system", system), ("human", user)]

    # --- citations ----------------------------------------------------------------------
    def _citations(self, result: Verified, passages: list[Passage]) -> list[Citation]:
        """One citation per supporting passage: its sentence closest to the answer sentences citing it."""
        out = []
        for n in result.used:
            passage = passages[n - 1]
            claims = " ".join(c.text for c in result.checks if n in c.supported_by and c.action != "removed")
            spans = split_sentences(passage.text) or []
            best = max(spans, key=lambda s: overlap(claims, passage.text[s.start:s.end]), default=None)
            start, end = (best.start, best.end) if best else (0, len(passage.text))
            speech = self.context.speech(passage)
            attribution = speech.at(passage.start + start, passage.start + end)
            out.append(Citation(
                n=n, article_id=passage.article_id, title=passage.title, source=passage.source, author=passage.author,
                published_at=passage.published_at, url=passage.url, chunk_id=passage.chunk_id,
                quote=passage.text[start:end], start=passage.start + start, end=passage.start + end,
                score=round(passage.score, 4), speaker=attribution.speaker,
                speaker_role=speech.role_of(attribution.speaker)))
        return out


def _text(chunk) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, list):  # content blocks
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def _complete_sentences(buffer: str) -> tuple[str, str]:
    """Split streamed text into the finished sentences (with their citations) and the rest.

    A sentence is finished once the next one has started, so trailing ``[n]`` markers stay with it.
    """
    masked = MARKER.sub(lambda m: " " * len(m.group(0)), buffer)
    spans = split_sentences(masked)
    if len(spans) < 2:
        return "", buffer
    cut = spans[-1].start
    return buffer[:cut], buffer[cut:]
