"""The server's background refresh of the subscribed feeds, every ``minutes``.

A daemon thread: the first refresh runs ``minutes`` after the start (the server is ready at once),
then one after another; a refresh that fails is logged and the next one runs on time. Questions go
on meanwhile (see ``SharedAssistant._write_fetched``).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class FeedScheduler:
    def __init__(self, refresh, minutes: float, first_after: float | None = None):
        if minutes <= 0:
            raise ValueError("minutes must be positive (0 means no scheduler: do not start one)")
        self.refresh = refresh  # () -> list[FeedRefresh]
        self.interval = minutes * 60
        self.first_after = self.interval if first_after is None else first_after
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="feed-refresh", daemon=True)

    def start(self) -> FeedScheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        wait = self.first_after
        while not self._stop.wait(wait):
            try:
                done = self.refresh()
                log.info("refreshed %d feeds: %s", len(done),
                         ", ".join(f"{d.feed.url} {d.feed.last_status} (+{d.feed.new_items})" for d in done) or "none")
            except Exception:  # noqa: BLE001 - one failed refresh must not end the schedule
                log.exception("feed refresh failed; the next one runs in %.0f minutes", self.interval / 60)
            self.runs += 1
            wait = self.interval
