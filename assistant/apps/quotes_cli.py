"""``assistant quotes PERSON [--about TOPIC] [--json]``: who said what, across the indexed articles.

Built on the answerer's speaker attribution (:mod:`assistant.answer.quotes`). Exit status 0 when
statements were found, 1 when none were (the message says what was searched), 2 for a blank
person or topic.
"""

from __future__ import annotations

import json
import sys

import click

from assistant.apps.cli_context import command_assistant

from assistant.answer.quotes import ATTRIBUTION_ACCURACY, ATTRIBUTION_ACCURACY_SHORT
from assistant.apps.cli_errors import EXIT_FAILED_RECORDS, handle_errors

EXIT_NOTHING_FOUND = EXIT_FAILED_RECORDS  # 1: the command ran, nothing matched


def _not_blank(what: str, example: str):
    def check(_ctx, _param, value):
        if value is None:
            return None
        if not value.strip():
            raise click.BadParameter(f"the {what} is blank; write one, e.g. {example}")
        return " ".join(value.split())
    return check


@click.command("quotes", help=f"""Every statement the indexed articles attribute to PERSON, verbatim.

\b
Each statement: the article's date, outlet, title and link, the sentence exactly as the article
has it and its character span. PERSON is matched word for word, case and accents ignored
("Zhelikhovsky" finds "Stanislav Zhelikhovsky"); --about keeps the statements on TOPIC (shared
words or similar meaning). Exit status 1 when nothing is found.

How far to trust it: {ATTRIBUTION_ACCURACY}
""")
@click.argument("person", callback=_not_blank("person", '"Zhelikhovsky"'))
@click.option("--about", "about", metavar="TOPIC", callback=_not_blank("topic", '--about China'),
              help="Only statements about TOPIC.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: person, about, count, accuracy, quotes.")
@handle_errors
def quotes_command(person: str, about: str | None, as_json: bool):
    assistant = command_assistant()
    found = assistant.quotes(person, about)
    if as_json:
        click.echo(json.dumps({"person": person, "about": about, "count": len(found),
                               "attribution_accuracy": ATTRIBUTION_ACCURACY,
                               "quotes": [q.as_dict() for q in found]}, indent=2, ensure_ascii=False))
    elif found:
        print_quotes(found, person, about)
    if not found:
        click.echo(nothing_found(assistant, person, about), err=as_json)
        sys.exit(EXIT_NOTHING_FOUND)


def print_quotes(found: list, person: str, about: str | None) -> None:
    from assistant.answer.quotations import display_quote

    speakers = list(dict.fromkeys(q.speaker for q in found))
    articles = list(dict.fromkeys(q.article_id for q in found))
    topic = f" about “{about}”" if about else ""
    who = speakers[0] if len(speakers) == 1 else f"{len(speakers)} people named {person} ({', '.join(speakers)})"
    click.echo(f"{who}: {len(found)} statement{'s' * (len(found) != 1)}{topic} in {len(articles)} "
               f"article{'s' * (len(articles) != 1)}.")
    click.echo(f"(Attribution: {ATTRIBUTION_ACCURACY_SHORT}; check the sentence in its article.)")
    current = None
    for q in found:
        if q.article_id != current:
            current = q.article_id
            known = [(q.published_at or "")[:10] or "undated", q.source or "outlet unknown"] + ([q.url] if q.url else [])
            click.echo(f"\n{q.title}\n  {' · '.join(known)}")
        how = "quotation" if q.kind == "quote" else "reported"
        said = f", {q.speaker}" if len(speakers) > 1 else ""
        click.echo(f"  - {q.shown or display_quote(q.sentence)} (characters {q.start}–{q.end}, {how}{said})")


def nothing_found(assistant, person: str, about: str | None) -> str:
    """Why nothing was listed and what to try: an empty index, a topic none of the person's
    statements is about, or a name no article attributes a statement to."""
    if assistant.is_empty():
        return (f"No statements: the index in {assistant.settings.data_dir} is empty; add articles with "
                "'assistant ingest FOLDER'.")
    articles = len(assistant.articles())
    if about:
        everything = assistant.quotes(person)
        if everything:
            return (f"None of the {len(everything)} statements attributed to {everything[0].speaker} is about "
                    f"“{about}”; try another topic, or leave out --about to list them all.")
    return (f"No statements attributed to “{person}” in the {articles} indexed article{'s' * (articles != 1)}. "
            "Names are matched word for word (a surname alone is enough); check the spelling, or ingest "
            "articles that quote this person.")
