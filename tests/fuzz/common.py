"""Shared settings of the fuzzers: how many inputs, how long each may take, what to feed.

Small and deterministic in the normal suite; ``make fuzz`` raises the count
(``PLATEBIND_FUZZ_EXAMPLES=20000``), and then runs unseeded so that each long run explores new
inputs (hypothesis prints the seed and the failing input to reproduce a finding).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from platebind.data import TAIPEI_FEED

T = TypeVar("T")
EXAMPLES_ENV = "PLATEBIND_FUZZ_EXAMPLES"
LONG_RUN = EXAMPLES_ENV in os.environ
EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "100"))
# Every input must be answered in this time: a parser that is slower than this on a few
# kilobytes has a backtracking or quadratic path that a hostile input can make far worse.
TIME_BOUND_SECONDS = float(os.environ.get("PLATEBIND_FUZZ_TIME_BOUND", "0.5"))

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG_RUN,
    deadline=None,  # time is asserted per input below, without hypothesis's flaky re-runs
    database=None,
    print_blob=True,
    # The database fixtures are per test; each input runs in a transaction rolled back.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# A hang backstop on wall time, far above the CPU bound: on a shared machine the wall clock
# also counts the time spent waiting for a core.
_WALL_FACTOR = 20


@contextmanager
def bounded(limit: float = TIME_BOUND_SECONDS) -> Iterator[None]:
    """The block must finish within ``limit`` seconds of this thread's CPU time (the parsers
    are CPU-bound; CPU time does not count waiting for a core of a busy machine)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    yield
    spent, elapsed = time.thread_time() - cpu, time.perf_counter() - wall
    assert spent < limit, f"took {spent:.3f} s of CPU (bound {limit} s)"
    assert elapsed < limit * _WALL_FACTOR, f"took {elapsed:.3f} s (bound {limit * _WALL_FACTOR} s)"


# Any character at all, lone surrogates included (JSON can carry them: "\ud800").
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)


def repeated(fragments: st.SearchStrategy[str], most: int = 2000) -> st.SearchStrategy[str]:
    """A fragment repeated many times: long runs of one thing are what make a backtracking
    regular expression or a quadratic scan blow up, and random text rarely has them."""
    return st.builds(lambda f, n: f * n, fragments, st.integers(1, most))


def spliced(pieces: st.SearchStrategy[str], max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Pieces of realistic input glued in any order, each possibly repeated."""
    piece = st.one_of(pieces, repeated(pieces, 200), ANY_TEXT.map(lambda t: t[:8]))
    return st.lists(piece, max_size=max_pieces).map("".join)


@cache
def taipei_lots() -> list[dict[str, Any]]:
    """The real Taipei feed's lots: the seeds the importer and payex fuzzers mutate."""
    document = json.loads(TAIPEI_FEED.read_bytes().decode("utf-8-sig"))
    lots: list[dict[str, Any]] = document["data"]["park"]
    return lots


def deep_json(depth: int) -> bytes:
    """Arrays nested ``depth`` deep: past the interpreter's recursion limit for json.loads."""
    return b"[" * depth + b"]" * depth


def answer(call: Callable[[], T], *refusals: type[Exception]) -> T | Exception:
    """``call()``, or the documented refusal it raised; any other exception propagates (that is
    the fuzzer's finding)."""
    try:
        return call()
    except refusals as exc:
        return exc
