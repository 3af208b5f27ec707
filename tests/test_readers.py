"""Article readers: each format, metadata, errors that name file and record, date normalisation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.ingest import SUPPORTED_SUFFIXES, ReadResult, normalize_date, read_file, read_paths

DATA = Path(__file__).parent / "data"
PROJECT = Path(__file__).resolve().parent.parent
SEED = PROJECT / "corpus" / "000_6a88a811b9bce059.txt"
MULTIHOP_CORPUS = PROJECT.parent / "shared" / "data" / "multihop-rag" / "corpus.json"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def only_error(result: ReadResult) -> InputError:
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    return result.errors[0]


# --- formats -------------------------------------------------------------------------------


def test_json_list_maps_fields_and_cleans_metadata():
    result = read_file(DATA / "articles.json")

    assert result.errors == [] and result.files == 1
    storm, council = result.articles
    assert storm.title == "Storm closes harbour"
    assert storm.body == "The harbour closed on Monday.\n\nShips waited offshore."
    assert (storm.source, storm.author, storm.category) == ("Coastal Times", None, "weather")
    assert storm.published_at == "2023-11-27T08:45:59Z"
    assert storm.url == "https://example.org/storm"
    assert storm.origin == f"{DATA / 'articles.json'}[0]"
    assert council.body == "The council approved the budget by seven votes to two."  # from "text"
    assert council.source is None  # blank string
    assert council.author == "Ann Lee, Bo Chen"
    assert council.published_at == "2023-11-27T08:00:00Z"  # from "date", +02:00 to UTC


def test_json_single_object_and_articles_wrapper(tmp_path):
    article = {"title": "One", "content": "Body one.", "source": "Wire"}
    single = write(tmp_path, "one.json", json.dumps(article))
    wrapped = write(tmp_path, "many.json", json.dumps({"articles": [article, {**article, "title": "Two"}]}))

    one = read_file(single)
    many = read_file(wrapped)

    assert [a.title for a in one.articles] == ["One"] and one.articles[0].origin == str(single)
    assert one.articles[0].body == "Body one."
    assert [a.title for a in many.articles] == ["One", "Two"]
    assert [a.origin for a in many.articles] == [f"{wrapped}[0]", f"{wrapped}[1]"]
    assert one.errors == many.errors == []


def test_jsonl_reads_good_lines_and_names_bad_ones():
    path = DATA / "articles.jsonl"
    result = read_file(path)

    assert [a.title for a in result.articles] == ["First", "Fourth"]
    assert [a.origin for a in result.articles] == [f"{path}:1", f"{path}:5"]
    assert result.articles[0].published_at == "2023-11-27T08:45:59Z"  # epoch seconds
    assert result.articles[1].body == "Content body." and result.articles[1].source == "Wire"
    bad_json, not_object = result.errors
    assert bad_json.where == f"{path}:3"
    assert bad_json.problem.startswith("invalid JSON at column 29:")
    assert not_object.where == f"{path}:4"
    assert not_object.problem == "the record is a JSON array, not an object"
    assert bad_json.fix and not_object.fix


def test_markdown_front_matter():
    result = read_file(DATA / "front_matter.md")

    assert result.errors == []
    (article,) = result.articles
    assert article.title == "Rates held at 5.25%"
    assert (article.source, article.author, article.category) == ("Finance Daily", "Dana Roe", "business")
    assert article.published_at == "2023-12-01T14:30:00Z"  # "date" key, -05:00 to UTC
    assert article.url == "https://example.org/rates"
    assert article.body == "The central bank held rates.\n\nIt said inflation was easing.\n"


def test_markdown_heading_is_title():
    (article,) = read_file(DATA / "heading.md").articles

    assert article.title == "Bridge reopens after repairs"
    assert article.body == "The bridge reopened on Friday.  Traffic was light.\n"
    assert article.source is article.published_at is None


def test_text_body_is_kept_verbatim_after_the_title(tmp_path):
    body = "  Indented first line.\r\n\r\nSecond  paragraph\twith tab.\n\n\n"
    path = write(tmp_path, "a.txt", "\n\n  Title line  \n\n\n" + body)

    (article,) = read_file(path).articles

    assert article.title == "Title line"
    assert article.body == body  # only the leading blank lines go: offsets into the body hold


def test_text_front_matter_without_title_takes_first_line(tmp_path):
    path = write(tmp_path, "b.txt", "---\nsource: Wire\n---\nHeadline here\n\nBody text.\n")

    (article,) = read_file(path).articles

    assert (article.title, article.source, article.body) == ("Headline here", "Wire", "Body text.\n")


def test_front_matter_with_windows_line_endings(tmp_path):
    path = write(tmp_path, "c.md", "---\r\ntitle: T\r\nauthor: null\r\n---\r\n\r\nBody.\r\n")

    (article,) = read_file(path).articles

    assert (article.title, article.author, article.body) == ("T", None, "Body.\r\n")


def test_seed_article_has_title_and_no_invented_metadata():
    result = read_file(SEED)

    assert result.errors == []
    (article,) = result.articles
    assert article.title == (
        "It would be beneficial for Putin to stop military operations now"
        " – analysis by an international affairs expert"
    )
    # The photo caption and the "Read also" link are page furniture, left out (tests/test_furniture.py).
    assert article.furniture == ["Vladimir Putin. Photo:",
                                 "Read also: Ukrainian servicemen finally receive shells to repel Russians, – Reuters"]
    assert article.body.startswith("Russian dictator Vladimir Putin would now benefit")
    text = SEED.read_text(encoding="utf-8")
    for line in article.furniture:
        text = text.replace(line + "\n\n", "")
    assert text.endswith(article.body)
    assert (article.source, article.author, article.published_at, article.url, article.category) == (None,) * 5


def test_html_article_metadata_and_paragraphs():
    result = read_file(DATA / "page.html")

    assert result.errors == []
    (article,) = result.articles
    assert article.title == "Team wins final"  # og:title, without the <title> suffix
    assert (article.source, article.author, article.category) == ("Sport Today", "Sam Park", "sports")
    assert article.published_at == "2023-12-10T17:05:00Z"
    assert article.url == "https://example.org/final"  # canonical link
    assert article.body == "The team won the final 3-1 on Sunday.\n\nFans celebrated late into the night & beyond."


def test_html_without_article_uses_body_and_title_fallbacks(tmp_path):
    page = (
        "<html><head><title> Plain page </title></head><body><nav><p>Menu</p></nav>"
        "<div><p>First para.</p><p>  </p><p>Second para.</p></div><footer><p>Foot</p></footer></body></html>"
    )
    with_h1 = page.replace("<div>", "<div><h1>The headline</h1>")
    a = read_file(write(tmp_path, "a.htm", page)).articles[0]
    b = read_file(write(tmp_path, "b.html", with_h1)).articles[0]

    assert (a.title, a.body) == ("Plain page", "First para.\n\nSecond para.")
    assert b.title == "The headline"


def test_a_record_without_a_title_is_titled_by_its_first_sentence(tmp_path):
    """Paragraph datasets have no titles: the lead sentence is the title, as a text file's first line is."""
    lines = [
        '{"text": "Officials in Lisbon said the new tram line would open in March. It cost more than planned."}',
        '{"title": "  ", "body": "Short one."}',
        '{"headline": "Trams return", "body": "The trams are back."}',
        '{"body": "' + " ".join(f"w{i}" for i in range(30)) + '. Second sentence."}',
    ]
    result = read_file(write(tmp_path, "paras.jsonl", "\n".join(lines)))
    assert result.errors == []
    titles = [a.title for a in result.articles]
    assert titles[:3] == ["Officials in Lisbon said the new tram line would open in March.", "Short one.",
                          "Trams return"]
    assert titles[3] == " ".join(f"w{i}" for i in range(20)) + "…"
    assert len({a.id for a in result.articles}) == 4  # each its own article
    assert result.articles[0].body.startswith("Officials in Lisbon")


# --- errors --------------------------------------------------------------------------------

ERROR_CASES = {
    "invalid json": ("x.json", '[\n  {"title": "a",\n   "body": }\n]', "x.json", "invalid JSON at line 3, column 12"),
    "not an object": ("x.json", '["just text"]', "x.json[0]", "the record is a JSON string, not an object"),
    "title not text": ("x.json", '{"title": 7, "body": "b"}', "x.json", "'title' is a JSON number, not text"),
    "missing body": ("x.json", '[{"title": "t"}]', "x.json[0]", "missing body (nor 'text' or 'content')"),
    "empty body": ("x.json", '{"title": "t", "body": "\\n "}', "x.json", "empty body"),
    "bad date": (
        "x.json",
        '{"title": "t", "body": "b", "published_at": "last Tuesday"}',
        "x.json",
        "unparseable date in 'published_at': 'last Tuesday'",
    ),
    "bad front matter date": (
        "x.md",
        "---\ndate: 31/02/2023\n---\nTitle\nBody\n",
        "x.md",
        "unparseable date in 'date': '31/02/2023'",
    ),
    "bad metadata type": ("x.json", '{"title": "t", "body": "b", "url": {}}', "x.json", "'url' is a JSON object"),
    "not utf-8": ("x.txt", "Title\nCaf\xe9\n".encode("latin-1"), "x.txt", "not UTF-8 text: byte 0xe9 on line 2"),
    "empty file": ("x.md", " \n\n", "x.md", "the file is empty"),
    "title only": ("x.txt", "Only a title\n\n", "x.txt", "empty body"),
    "unclosed front matter": ("x.md", "---\ntitle: T\nBody\n", "x.md", "never closed"),
    "bad front matter line": ("x.md", "---\ntitle: T\njust words\n---\nBody\n", "x.md:3", "is not 'key: value'"),
    "top level not an article": ("x.json", '"hello"', "x.json", "the file holds a JSON string"),
    "bad html date": (
        "x.html",
        '<meta property="article:published_time" content="soon"><h1>T</h1><p>Text.</p>',
        "x.html",
        "unparseable date in 'meta article:published_time': 'soon'",
    ),
    "html without text": ("x.html", "<html><head><title>T</title></head><body></body></html>", "x.html", "no article"),
}


@pytest.mark.parametrize(("name", "content", "where", "problem"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_errors_name_file_and_record(tmp_path, name, content, where, problem):
    result = read_file(write(tmp_path, name, content))

    error = only_error(result)
    assert result.articles == []
    assert error.where == str(tmp_path / where)
    assert problem in error.problem
    assert error.fix
    assert str(error).startswith(f"{tmp_path / where}: ")


def test_all_problems_of_a_record_are_reported_together(tmp_path):
    path = write(tmp_path, "x.json", '{"title": 7, "published_at": "soon"}')

    error = only_error(read_file(path))

    assert error.problem == (
        "'title' is a JSON number, not text; missing body (nor 'text' or 'content'); "
        "unparseable date in 'published_at': 'soon'"
    )


def test_good_records_survive_next_to_bad_ones(tmp_path):
    records = [
        {"title": "A", "body": "a"},
        {"title": "B"},
        5,
        {"title": "D", "body": "d", "date": "nope"},
        {"title": "E", "body": "e"},
    ]
    folder = tmp_path / "in"
    path = write(folder, "mixed.json", json.dumps(records))
    write(folder, "broken.json", "{")
    write(folder, "good.md", "# Good\n\nText.\n")

    result = read_paths([folder])

    assert result.files == 3
    assert [a.title for a in result.articles] == ["Good", "A", "E"]  # broken.json, good.md, mixed.json
    assert sorted(e.where for e in result.errors) == sorted(
        [str(folder / "broken.json"), f"{path}[1]", f"{path}[2]", f"{path}[3]"]
    )


# --- paths ---------------------------------------------------------------------------------


def test_folders_are_read_recursively_in_order_skipping_hidden_and_unsupported(tmp_path):
    root = tmp_path / "corpus"
    for name in ["b.txt", "a/z.md", "a/c/y.txt", "A.TXT"]:
        write(root, name, f"Title {name}\n\nBody.\n")
    write(root, ".hidden.txt", "Hidden\n\nBody.\n")
    write(root, ".git/x.txt", "Hidden\n\nBody.\n")
    write(root, "notes.pdf", "ignored")
    write(root, "image.png", b"\x89PNG")

    result = read_paths([root])

    assert result.errors == []
    assert result.files == 4
    assert [a.title for a in result.articles] == ["Title A.TXT", "Title a/c/y.txt", "Title a/z.md", "Title b.txt"]


def test_explicit_missing_or_unsupported_paths_are_errors(tmp_path):
    pdf = write(tmp_path, "report.pdf", "x")
    hidden = write(tmp_path, ".explicit.txt", "Hidden but asked for\n\nBody.\n")
    missing = tmp_path / "nope.json"

    result = read_paths([missing, pdf, str(hidden)])

    assert [a.title for a in result.articles] == ["Hidden but asked for"]
    assert [(e.where, e.problem) for e in result.errors] == [
        (str(missing), "no such file or folder"),
        (str(pdf), "unsupported file type"),
    ]
    assert all(suffix in result.errors[1].fix for suffix in SUPPORTED_SUFFIXES)
    assert result.files == 1


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()

    error = only_error(read_paths([tmp_path / "empty"]))

    assert error.where == str(tmp_path / "empty") and error.problem == "no supported files in this folder"


def test_a_file_reached_twice_is_read_once_and_a_single_path_is_accepted(tmp_path):
    path = write(tmp_path, "a.txt", "Title\n\nBody.\n")

    twice = read_paths([tmp_path, path])
    single = read_paths(str(path))

    assert len(twice.articles) == 1 and twice.files == 1
    assert [a.title for a in single.articles] == ["Title"]


def test_read_file_rejects_unsupported_suffix(tmp_path):
    error = only_error(read_file(write(tmp_path, "a.csv", "title,body")))

    assert error.problem == "unsupported file type"


# --- ids -----------------------------------------------------------------------------------


def test_ids_are_stable_across_reads_and_locations(tmp_path):
    copy = tmp_path / "elsewhere" / SEED.name
    copy.parent.mkdir()
    shutil.copy(SEED, copy)

    first = read_file(SEED).articles[0]
    again = read_file(SEED).articles[0]
    moved = read_file(copy).articles[0]
    json_ids = [a.id for a in read_file(DATA / "articles.json").articles]

    assert first.id == again.id == moved.id
    assert len(first.id) == 16
    assert json_ids == [a.id for a in read_file(DATA / "articles.json").articles]
    assert len(set(json_ids)) == 2


# --- dates ---------------------------------------------------------------------------------

DATES = [
    ("2023-11-27 08:45:59.000000000Z", "2023-11-27T08:45:59Z"),  # MultiHop-RAG corpus
    ("2023-11-27T08:45:59+00:00", "2023-11-27T08:45:59Z"),  # MultiHop-RAG evidence
    ("2023-11-27T10:45:59+02:00", "2023-11-27T08:45:59Z"),
    ("2023-11-26T23:00:00-05:00", "2023-11-27T04:00:00Z"),
    ("2023-11-27T08:45:59.999Z", "2023-11-27T08:45:59Z"),
    ("2023-11-27T08:45:59", "2023-11-27T08:45:59Z"),  # naive = UTC
    ("2023-11-27", "2023-11-27T00:00:00Z"),
    ("  2023-11-27T08:45Z ", "2023-11-27T08:45:00Z"),
    ("Mon, 27 Nov 2023 08:45:59 GMT", "2023-11-27T08:45:59Z"),
    ("Mon, 27 Nov 2023 08:45:59 +0100", "2023-11-27T07:45:59Z"),
    ("27 Nov 2023 08:45:59 -0000", "2023-11-27T08:45:59Z"),
    (1701074759, "2023-11-27T08:45:59Z"),
    (1701074759.9, "2023-11-27T08:45:59Z"),
    ("1701074759", "2023-11-27T08:45:59Z"),
    (0, "1970-01-01T00:00:00Z"),
    (None, None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("value", "expected"), DATES, ids=[repr(v) for v, _ in DATES])
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2023-13-01", "27/11/2023", "Mon, 27 Nov 2023", True, 1e20])
def test_normalize_date_rejects_with_the_value_named(value):
    with pytest.raises(ValueError, match="ISO 8601") as caught:
        normalize_date(value)

    assert repr(value) in str(caught.value)


# --- MultiHop-RAG corpus -------------------------------------------------------------------


@pytest.mark.benchmark_data
def test_multihop_corpus_reads_cleanly():
    if not MULTIHOP_CORPUS.exists():
        pytest.skip(f"{MULTIHOP_CORPUS} not present")

    result = read_paths([MULTIHOP_CORPUS])

    assert result.errors == [] and result.files == 1
    assert len(result.articles) == 609
    assert all(a.published_at and a.published_at.endswith("Z") and len(a.published_at) == 20 for a in result.articles)
    assert len({a.id for a in result.articles}) == 609
    assert sum(a.author is None for a in result.articles) == 68  # 64 null and 4 empty authors
    assert result.articles[0].published_at == "2023-11-27T08:45:59Z"


def test_an_html_file_keeps_the_article_and_drops_the_page_around_it():
    """.html files go through the same main-text extraction as fetched pages (docs/research/extraction.md)."""
    import json

    pages = DATA / "live" / "pages"
    for name in ("harbour_gazette", "valley_courier_wordpress", "capital_post_nextjs"):
        expected = json.loads((pages / f"{name}.json").read_text(encoding="utf-8"))
        result = read_file(pages / f"{name}.html")
        assert not result.errors and len(result.articles) == 1
        body = " ".join(result.articles[0].body.split())
        assert all(" ".join(p.split()) in body for p in expected["article"])
        leaked = [b for b in expected["boilerplate"] if " ".join(b.split()) in body]
        assert len(leaked) <= len(expected["boilerplate"]) // 10, leaked


WATER = ("---\ntitle: Water restrictions eased in Aren valley\nsource: Example Herald\ndate: 2024-03-02\n---\n"
         "# Water restrictions eased in Aren valley\n\n"
         "The regional water authority lifted the hosepipe ban on Friday after heavy rain refilled the reservoirs. "
         "Officials said supplies were back to normal.\n")


@pytest.mark.parametrize("heading", ["# Water restrictions eased in Aren valley\n",
                                     "Water restrictions eased in Aren valley\n=======================================\n"])
def test_a_markdown_heading_after_front_matter_is_the_title_not_a_sentence(tmp_path, heading):
    path = write(tmp_path, "water.md", WATER.replace("# Water restrictions eased in Aren valley\n", heading))

    (article,) = read_file(path).articles

    assert article.title == "Water restrictions eased in Aren valley"
    assert article.body.startswith("The regional water authority lifted the hosepipe ban on Friday")


def test_the_first_sentence_after_a_markdown_heading_is_quoted_alone(tmp_path, make_assistant):
    """Kept in the body, the heading was read as one sentence with the first one ("# Water … valley
    The regional water authority …"), cited to two passages."""
    write(tmp_path, "water.md", WATER)
    assistant = make_assistant()
    assert assistant.ingest([tmp_path / "water.md"]).added == 1

    answer = assistant.ask("Who lifted the hosepipe ban in Aren valley?")

    assert not answer.abstained and "#" not in answer.answer
    assert [c.quote for c in answer.citations] == [
        "The regional water authority lifted the hosepipe ban on Friday after heavy rain refilled the reservoirs."]
