"""Article pages and RSS feeds written for the live-news tests, served by tests/live_http.LocalSite."""

from __future__ import annotations

WIRE = (
    "The city council of Riverton voted 7 to 2 on Tuesday to build a desalination plant on the northern shore, "
    "ending a decade of debate over the town's shrinking water supply. "
    "Mayor Elena Brooks said the plant would produce twelve million litres of drinking water a day by 2027. "
    "\u201cThis is the most important vote this council has taken in a generation,\u201d Brooks said after the meeting. "
    "Opponents argued that the brine discharged by the plant would harm the oyster beds in Harlow Bay. "
    "Fisherman Tom Reyes, who has worked the bay for thirty years, said the council had ignored the scientists. "
    "The plant is expected to cost 410 million dollars, paid for by a bond approved by voters last spring. "
    "Construction will begin in March, and the contractor, Bluewave Engineering, has promised to hire locally. "
    "State officials must still approve the discharge permit before any work on the shore can start."
)
OTHER = (
    "Heavy snow closed the mountain pass between Alder and Pine Ridge for the third time this winter. "
    "Road crews worked through the night to clear drifts more than two metres high. "
    "The transport department said the pass would reopen on Friday if the weather held. "
    "Truck drivers waiting at the foot of the pass said the closures cost them days of work each month. "
    "A new tunnel under the pass has been proposed, but its funding has not been secured."
)


def page(title: str, body: str, outlet: str, extra: str = "") -> str:
    paragraphs = "".join(f"<p>{sentence.strip()}.</p>" for sentence in body.split(". ") if sentence.strip())
    return (f"<!doctype html><html><head><title>{title} | {outlet}</title>"
            f"<meta property=\"og:site_name\" content=\"{outlet}\"><meta property=\"og:title\" content=\"{title}\">"
            f"</head><body><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>"
            f"<article><h1>{title}</h1>{extra}{paragraphs}</article>"
            f"<footer>Copyright {outlet}. All rights reserved.</footer></body></html>")


def rss(title: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><pubDate>{date}</pubDate>"
                      f"<category>local</category></item>" for t, link, date in items)
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{title}</title>"
            f"<link>http://example.invalid/</link><description>news</description>{entries}</channel></rss>")
