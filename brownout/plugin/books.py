"""What every Locust process keeps, master or worker: the timeline buckets and the ledger of acknowledged writes.

One `Books` per Locust environment, and gone with it (a test or an embedding program may create many
environments). Each test run on the master starts a fresh ledger, so one test's acknowledgements are never
read back in the next.
"""

from __future__ import annotations

import weakref

from locust.env import Environment

from brownout.plugin.ledger import Ledger
from brownout.plugin.timeline import TimelineRecorder

_DEFAULT_BUCKET_S = 0.25


class Books:
    def __init__(self, bucket_s: float) -> None:
        self.timeline = TimelineRecorder(bucket_s)
        self.ledger = Ledger()
        self.final_reports: set[str] = set()  # workers whose last report of this test run has arrived

    def begin_test(self) -> Ledger:
        """A new test: a fresh ledger, and no worker has sent its last report of it yet."""
        self.ledger = Ledger()
        self.final_reports.clear()
        return self.ledger


_books: weakref.WeakKeyDictionary[Environment, Books] = weakref.WeakKeyDictionary()


def books_for(environment: Environment) -> Books:
    books = _books.get(environment)
    if books is None:
        bucket_s = getattr(environment.parsed_options, "brownout_bucket", _DEFAULT_BUCKET_S) or _DEFAULT_BUCKET_S
        books = _books[environment] = Books(bucket_s)
    return books
