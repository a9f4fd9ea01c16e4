"""Adaptive concurrency: the AIMD limit on calls in flight, alone and inside the count engine."""

from __future__ import annotations

import threading

import pytest

from rollcall.config import load_config
from rollcall.core.model import Entry, Throttled
from rollcall.counting import Settings
from rollcall.counting.limit import AdaptiveLimit

from .fakes import FakeDirectory, dl, person
from .helpers import count


def fill(limit: AdaptiveLimit) -> list[int]:
    """Start calls until the limit is reached, as the engine does while work is waiting."""
    tokens = []
    while limit.room():
        tokens.append(limit.started())
    return tokens


class Busy:
    """Calls through a limit with work always waiting: each answer is replaced at once."""

    def __init__(self, limit: AdaptiveLimit) -> None:
        self.limit = limit
        self.tokens = fill(limit)

    def answers(self, n: int) -> None:
        for _ in range(n):
            self.limit.answered(self.tokens.pop(0))
            self.tokens += fill(self.limit)

    def refusal(self) -> None:
        """The oldest call in flight is refused as too much load."""
        self.limit.throttled(self.tokens.pop(0))
        self.tokens += fill(self.limit)


# -- the limit alone -----------------------------------------------------------------------------

def test_the_limit_starts_at_the_concurrency_setting() -> None:
    limit = AdaptiveLimit(8, 24)
    assert (limit.limit, limit.peak) == (8, 8)
    assert len(fill(limit)) == 8
    assert not limit.room()


def test_it_grows_by_one_per_limits_worth_of_answers_while_they_succeed() -> None:
    limit = AdaptiveLimit(8, 24)
    busy = Busy(limit)
    busy.answers(7)
    assert limit.limit == 8
    busy.answers(1)
    assert limit.limit == 9 and limit.in_flight == 9  # 8 answers at 8 in flight
    busy.answers(9 + 10)
    assert limit.limit == 11 and limit.peak == 11


def test_it_never_grows_past_the_maximum() -> None:
    limit = AdaptiveLimit(8, 24)
    Busy(limit).answers(5000)
    assert limit.limit == limit.peak == 24
    assert len(fill(limit)) == 0 and limit.in_flight == 24


def test_answers_while_the_limit_is_not_in_use_do_not_raise_it() -> None:
    limit = AdaptiveLimit(4, 24)
    for _ in range(100):  # one call at a time: nothing said about four
        limit.answered(limit.started())
    assert limit.limit == 4


def test_a_throttled_call_halves_the_limit_once_per_round() -> None:
    limit = AdaptiveLimit(16, 24)
    tokens = fill(limit)
    limit.throttled(tokens.pop())
    assert limit.limit == 8 and limit.halvings == 1
    for token in tokens[:5]:  # the same burst, refused too: already accounted for
        limit.throttled(token)
    assert limit.limit == 8 and limit.halvings == 1
    assert limit.in_flight == 10
    assert not limit.room()  # no new call until the old burst drains below the new limit
    for token in tokens[5:8]:
        limit.answered(token)  # answers from before the halving do not count towards growth
    assert limit.limit == 8 and limit.room()
    limit.throttled(limit.started())  # started under the new limit: halve again
    assert limit.limit == 4 and limit.halvings == 2


def test_the_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(3, 3)
    for _ in range(5):
        limit.throttled(limit.started())
    assert limit.limit == 1 and limit.room()


def test_it_climbs_back_after_halving_and_peak_remembers_the_highest() -> None:
    limit = AdaptiveLimit(8, 24)
    busy = Busy(limit)
    busy.answers(8 + 9)
    assert limit.limit == 10
    busy.refusal()
    assert limit.limit == 5
    busy.answers(9)  # the other calls of the refused burst drain: no growth from them
    assert limit.limit == 5 and limit.in_flight == 5
    busy.answers(5 + 6)
    assert limit.limit == 7 and limit.peak == 10


def test_other_failures_neither_grow_nor_shrink_it() -> None:
    limit = AdaptiveLimit(2, 8)
    for _ in range(10):
        fill(limit)
        limit.failed()
        limit.failed()
    assert limit.limit == 2 and limit.in_flight == 0


# -- the settings --------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "most"), [(8, 27), (8, 7), (30, 24), (1, 0)])
def test_the_maximum_must_lie_between_the_start_and_26(start: int, most: int) -> None:
    with pytest.raises(ValueError, match="ROLLCALL_MAX_CONCURRENCY"):
        Settings(concurrency=start, max_concurrency=most)


def test_the_maximum_is_read_from_the_environment() -> None:
    assert Settings().max_concurrency == 24 and Settings().concurrency == 8
    config = load_config(environ={"ROLLCALL_CONCURRENCY": "4", "ROLLCALL_MAX_CONCURRENCY": "12"})
    assert (config.count.concurrency, config.count.max_concurrency) == (4, 12)
    with pytest.raises(ValueError, match="ROLLCALL_MAX_CONCURRENCY.*26.*not 27"):
        load_config(environ={"ROLLCALL_MAX_CONCURRENCY": "27"})


# -- inside the engine ---------------------------------------------------------------------------

def stalled_lists(n: int, seconds: float) -> tuple[FakeDirectory, list[Entry]]:
    lists = {dl(f"l{i}@x.com"): [person(f"p{i}@x.com")] for i in range(n)}
    directory = FakeDirectory(lists)
    for entry in lists:
        directory.stall(entry.key, seconds)
    return directory, list(lists)


def test_no_more_calls_are_in_flight_than_the_limit_when_it_cannot_grow() -> None:
    directory, lists = stalled_lists(12, 0.03)
    report = count(directory, *lists, settings=Settings(concurrency=3, max_concurrency=3))
    assert report["total"] == 12
    assert directory.max_in_flight == 3


def test_calls_in_flight_grow_from_the_start_to_the_maximum_and_no_further() -> None:
    # 2 -> 6 takes 2 + 3 + 4 + 5 answers at the limit; 80 calls leave plenty at 6.
    directory, lists = stalled_lists(40, 0.01)
    report = count(directory, *lists, settings=Settings(concurrency=2, max_concurrency=6))
    assert report["total"] == 40 and report["complete"] is True
    assert directory.max_in_flight == 6


class BusyAbove(FakeDirectory):
    """A directory that refuses (Throttled, a short back-off) any call beyond `most` in flight,
    as Exchange answers ErrorServerBusy past EWSMaxConcurrency."""

    def __init__(self, most: int, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.most = most
        self.refused = 0
        self.admitted = 0
        self._gate = threading.Lock()

    def _enter(self, op: str, target: str) -> None:
        with self._gate:
            busy = self.in_flight >= self.most
            self.refused += busy
            self.admitted += not busy
        if busy:
            raise Throttled("server busy", 0.01)
        super()._enter(op, target)


def test_throttling_halves_the_calls_in_flight_and_the_count_still_completes() -> None:
    # Without the halving, 8 in flight against room for 3 would refuse five calls of every
    # eight, and with a retry each 10 ms against answers each 20 ms, lists would run out of
    # tries: the count would come out incomplete.
    lists = {dl(f"l{i}@x.com"): [person(f"p{i}@x.com"), person("all@x.com")] for i in range(40)}
    directory = BusyAbove(3, lists)
    for entry in lists:
        directory.stall(entry.key, 0.02)
    report = count(directory, *lists, settings=Settings(concurrency=8, max_concurrency=8))
    assert report["complete"] is True and report["total"] == 41
    assert directory.admitted == 80  # every resolve and expand, once each
    # The first burst is refused five times; after that the limit saws between 2 and 4, one
    # refusal a climb (2 + 3 answers): a fifth of the answers, not most of them.
    assert directory.refused <= 5 + 80 // 4, directory.refused


def test_calls_still_waiting_for_room_at_the_deadline_are_reported_not_reached() -> None:
    directory, lists = stalled_lists(3, 2.0)
    report = count(directory, *lists, settings=Settings(concurrency=1, max_concurrency=1,
                                                        deadline_s=0.3))
    # Had the engine waited for the stuck call (2 s), l0 would be counted and l1 started.
    assert report["complete"] is False and report["total"] == 0
    assert report["pending"] == ["l0@x.com", "l1@x.com", "l2@x.com"]
    assert report["requests"] == 3 + 1  # the resolves, and the one expansion that started
