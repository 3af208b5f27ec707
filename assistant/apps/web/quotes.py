"""The Quotes tab: who said what — every statement the indexed articles attribute to a person.

A person box (any name; the people quoted in the newest articles are offered), an optional topic,
and a table of the statements: date, outlet, article (linked when http(s)), the sentence exactly as
the article has it, its character span and whether it is a quotation or reported speech. Built on
:mod:`assistant.answer.quotes`; the attribution accuracy measured by
``assistant.answer.attribution_eval`` is stated on the page. Article text is untrusted: every piece
goes through :func:`render.esc`, links only when http(s).
"""

from __future__ import annotations

import logging

from assistant.answer.quotations import display_quote
from assistant.answer.quotes import ATTRIBUTION_ACCURACY, finder_for
from assistant.apps.web import render
from assistant.errors import AssistantError

log = logging.getLogger(__name__)

INTRO = ("Every statement the indexed articles attribute to a person — quotations and reported speech — with "
         "the article's date, outlet and link and the sentence exactly as the article has it. A surname is "
         "enough; add a topic to keep only the statements about it.")
_CELL = "border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top"


def accuracy_html() -> str:
    return f'<p class="quotes-accuracy" style="font-size:.85em;opacity:.75">How far to trust it: {render.esc(ATTRIBUTION_ACCURACY)}</p>'


def quotes_html(found: list, person: str, about: str | None) -> str:
    """The statements, one block per article (title linked when http(s), date, outlet, author) with
    its statements in reading order: the sentence verbatim, its span, quotation or reported speech.
    Every piece of article text is escaped."""
    speakers = list(dict.fromkeys(q.speaker for q in found))
    articles = list(dict.fromkeys(q.article_id for q in found))
    topic = f" about “{render.esc(about)}”" if about else ""
    who = (render.esc(speakers[0]) if len(speakers) == 1 else
           f"{len(speakers)} people named {render.esc(person)} ({render.esc(', '.join(speakers))})")
    head = "".join(f'<th style="{_CELL}">{name}</th>' for name in ("Date", "Outlet", "Statement (verbatim)", "Characters"))
    groups = []
    for article_id in articles:
        theirs = [q for q in found if q.article_id == article_id]
        first = theirs[0]
        url = render.safe_url(first.url)
        title = (f'<a class="quote-article" href="{render.esc(url)}" target="_blank" '
                 f'rel="noopener noreferrer nofollow">{render.esc(first.title)}</a>' if url else render.esc(first.title))
        link = f' · <span class="quote-link">{render.esc(url)}</span>' if url else ""
        author = f' · {render.esc(first.author)}' if first.author else ""
        date = render.esc((first.published_at or "")[:10] or "undated")
        outlet = render.esc(first.source or "outlet unknown")
        rows = [f'<tr class="article-row"><td colspan="4" style="{_CELL};background:rgba(127,127,127,.08)">'
                f'<strong class="article-title">{title}</strong><br><span class="meta" style="opacity:.75">'
                f"{date} · {outlet}{author}{link}</span></td></tr>"]
        for q in theirs:
            how = "quotation" if q.kind == "quote" else "reported"
            said = (f'<br><span class="speaker" style="opacity:.75">{render.esc(q.speaker)}</span>'
                    if len(speakers) > 1 else "")
            rows.append(
                f'<tr class="quote-row" data-start="{q.start}" data-end="{q.end}">'
                f'<td class="date" style="{_CELL};white-space:nowrap">{date}</td>'
                f'<td class="outlet" style="{_CELL}">{outlet}</td>'
                f'<td style="{_CELL}"><span class="statement">{render.esc(q.shown or display_quote(q.sentence))}</span>'
                f"{said}</td>"
                f'<td class="span" style="{_CELL};white-space:nowrap">{q.start}–{q.end}<br>{how}</td></tr>')
        groups.append(f'<tbody class="quote-article-group">{"".join(rows)}</tbody>')
    return (f'<div class="quotes-found"><p class="quotes-summary"><strong>{who}</strong>: {len(found)} statement'
            f'{"s" * (len(found) != 1)}{topic} in {len(articles)} article{"s" * (len(articles) != 1)}.</p>'
            f"{accuracy_html()}"
            f'<table class="quotes" style="border-collapse:collapse;width:100%;font-size:.92em">'
            f"<thead><tr>{head}</tr></thead>{''.join(groups)}</table></div>")


def find_quotes(shared, person: str | None, about: str | None) -> str:
    person, about = " ".join((person or "").split()), " ".join((about or "").split()) or None
    if not person:
        return render.placeholder_html("Write a name first, e.g. a surname.")
    limit = shared.settings.max_question_chars
    if len(person) > limit or len(about or "") > limit:
        return render.error_html(f"Names and topics are limited to {limit} characters.")
    try:
        if shared.is_empty():
            return render.placeholder_html("The index is empty: add articles in the Corpus tab first.")
        found = shared.quotes(person, about)
        if found:
            return quotes_html(found, person, about)
        if about and (everything := shared.quotes(person)):
            return render.placeholder_html(f"None of the {len(everything)} statements attributed to "
                                           f"{everything[0].speaker} is about “{about}”; try another topic or "
                                           "leave the topic empty.")
        articles = len(shared.articles())
        return render.placeholder_html(f"No statements attributed to “{person}” in the {articles} indexed "
                                       f"article{'s' * (articles != 1)}. Names are matched word for word; "
                                       "check the spelling.")
    except AssistantError as exc:
        return render.error_html(f"Could not search the statements — {exc}")
    except Exception:
        log.exception("finding quotes failed")
        return render.error_html("Could not search the statements; the server log has details.")


def speaker_choices(shared) -> list[str]:
    """The people quoted most in the newest articles, to pick from."""
    try:
        with shared.lock.reading():
            return [name for name, _ in finder_for(shared.assistant).speakers()]
    except Exception:
        log.exception("listing speakers failed")
        return []


def build_quotes_tab(shared):
    """Add the Quotes tab (inside the page's ``gr.Tabs``); the offered names load with the page."""
    import gradio as gr

    with gr.Tab("Quotes", id="quotes-tab"):
        return _layout(shared)


def _layout(shared):
    import gradio as gr

    gr.Markdown(INTRO)
    with gr.Row():
        person = gr.Textbox(label="Person", placeholder="a name, e.g. a surname", elem_id="quotes-person", scale=3)
        about = gr.Textbox(label="About (optional)", placeholder="a topic, e.g. China", elem_id="quotes-about", scale=3)
        find = gr.Button("Find statements", variant="primary", elem_id="quotes-find", scale=1, min_width=120)
    offered = gr.Radio([], label="Quoted in the newest articles", elem_id="quotes-speakers")
    result = gr.HTML(render.placeholder_html("Write a name, or pick one above.") + accuracy_html(),
                     elem_id="quotes-result", js_on_load=None)

    def on_find(name, topic):
        return find_quotes(shared, name, topic)

    def on_pick(name, topic):
        return name or "", find_quotes(shared, name, topic) if name else gr.update()

    # Attribution reads whole articles: CPU-bound like answering, so it shares the answering slots.
    event = dict(concurrency_limit=shared.settings.web_concurrency, concurrency_id="answer", show_progress="minimal")
    find.click(on_find, [person, about], result, api_name="quotes", **event)
    person.submit(on_find, [person, about], result, api_visibility="private", **event)
    about.submit(on_find, [person, about], result, api_visibility="private", **event)
    offered.input(on_pick, [offered, about], [person, result], api_visibility="private", **event)
    gr.on(None, lambda: gr.update(choices=speaker_choices(shared), value=None), None, offered,
          api_visibility="private", concurrency_limit=None, show_progress="hidden")
    return {"person": person, "about": about, "result": result, "offered": offered}
