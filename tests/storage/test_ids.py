"""Ids: unguessable, time-ordered where asked, and never handed out twice."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from countersign.vocabulary.ids import new_row_id, random_bytes


def test_random_bytes_have_the_length_asked_and_do_not_repeat() -> None:
    seen = {random_bytes(16) for _ in range(10_000)}  # crosses several pool refills
    assert len(seen) == 10_000
    assert all(len(chunk) == 16 for chunk in seen)
    assert len(random_bytes(5000)) == 5000  # more than a pool holds


def test_threads_never_share_bytes() -> None:
    results: list[set[bytes]] = []

    def draw() -> None:
        results.append({random_bytes(16) for _ in range(2000)})

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    union = set().union(*results)
    assert len(union) == 4 * 2000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parent() -> None:
    random_bytes(16)  # the parent's pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next bytes and leave at once
        os.write(write, random_bytes(16))
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.close(read)
    os.waitpid(pid, 0)
    assert child != random_bytes(16)


def test_row_ids_sort_by_creation_time_and_keep_their_randomness() -> None:
    first = new_row_id("con", 12)
    time.sleep(0.002)
    second = new_row_id("con", 12)
    assert first < second
    assert re.fullmatch(r"con_[0-9a-f]{11}[A-Za-z0-9_-]{16}", first)
    assert len({new_row_id("vis", 16) for _ in range(5000)}) == 5000
