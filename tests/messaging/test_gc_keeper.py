"""GcKeeper: what sockets hold is frozen out of the collector's walks, and what they leave in
cycles when they close is still freed (messaging.servers)."""

import gc
import sys
import weakref

import pytest

from chatsite.foundation import metrics
from messaging.servers import GcKeeper


class Socket:
    """Stands for a socket's machinery: objects that refer to each other (as a protocol, its
    transport and its session do), so only a collection frees them once dropped."""

    def __init__(self) -> None:
        self.parts = [{"n": n, "owner": self} for n in range(300)]


def blocks_per_socket() -> float:
    """What one ``Socket`` adds to the heap, as the keeper measures it (heap blocks)."""
    before = sys.getallocatedblocks()
    sockets = [Socket() for _ in range(1_000)]
    per_socket = (sys.getallocatedblocks() - before) / len(sockets)
    del sockets
    return per_socket


@pytest.fixture
def unfrozen():
    """Give the test process back its usual collector afterwards."""
    yield
    gc.unfreeze()
    gc.collect()


def full_collections() -> float:
    return metrics.registry.get_sample_value("chat_gc_full_collection_seconds_count") or 0.0


def test_a_tick_takes_what_exists_out_of_the_collectors_walks(unfrozen):
    keeper = GcKeeper(lambda: 0)
    sockets = [Socket() for _ in range(100)]
    before = gc.get_freeze_count()
    keeper.tick()
    assert gc.get_freeze_count() >= before + 100 * 301
    young = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert not any(id(s) in young for s in sockets)


def test_sockets_opened_cost_no_full_collection(unfrozen):
    held: list[Socket] = []
    keeper = GcKeeper(lambda: len(held), per_socket=blocks_per_socket())
    collections = full_collections()
    for _ in range(5):  # a ramp: each tick finds more live sockets
        held += [Socket() for _ in range(2_000)]
        keeper.tick()
    assert full_collections() == collections
    assert keeper.kept_sockets == 0


def test_what_closed_sockets_leave_in_cycles_is_freed(unfrozen):
    held = [Socket() for _ in range(2_000)]
    # The test process's own heap is large beside these sockets (a server's is mostly its
    # sockets), so a tenth stands for the keeper's quarter.
    keeper = GcKeeper(lambda: len(held), per_socket=blocks_per_socket(), growth=0.1)
    keeper.tick()
    collections = full_collections()
    dead = [weakref.ref(s) for s in held[:1_500]]
    # Three quarters close: frozen, their cycles survive an ordinary collection...
    del held[:1_500]
    gc.collect()
    assert all(ref() is not None for ref in dead)
    # ...until the keeper sees the heap hold more than the sockets left explain.
    keeper.tick()
    assert full_collections() == collections + 1
    assert all(ref() is None for ref in dead)
    assert keeper.kept_sockets == 500
    assert keeper.per_socket > 0


def test_churn_keeps_what_closed_sockets_hide_under_a_quarter(unfrozen):
    held = [Socket() for _ in range(2_000)]
    made = [weakref.ref(s) for s in held]
    keeper = GcKeeper(lambda: len(held), per_socket=blocks_per_socket(), growth=0.1)
    keeper.tick()
    collections = full_collections()
    hidden = []
    for _ in range(20):  # a tenth of the sockets go and come back between ticks
        del held[:200]
        fresh = [Socket() for _ in range(200)]
        made += [weakref.ref(s) for s in fresh]
        held += fresh
        keeper.tick()
        hidden.append(sum(ref() is not None for ref in made) - len(held))
    assert full_collections() > collections
    # Without full collections every closed socket would still be there (4,000, twice the
    # live ones); with them, what they hide stays within a tenth of the heap.
    assert max(hidden) <= 0.5 * len(held), hidden
