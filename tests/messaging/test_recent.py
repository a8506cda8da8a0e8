"""The hub's recent frames: a rejoin inside the window is replayed from memory, and the
window never claims a run of revs it does not wholly hold."""

from messaging.hub import Recent


def frames(recent, cursor):
    found = recent.after(cursor)
    return None if found is None else [rev for rev, _, _ in found]


def test_a_cursor_inside_the_window_gets_every_later_frame():
    recent = Recent(size=10)
    for rev in range(5, 9):
        recent.add(rev, f"t{rev}", b"f")
    assert frames(recent, 4) == [5, 6, 7, 8]
    assert frames(recent, 6) == [7, 8]
    assert frames(recent, 8) == []  # up to date: nothing, and no database either
    assert frames(recent, 3) is None  # rev 4 was never seen here: ask the database


def test_a_hole_restarts_the_window_and_copies_are_ignored():
    recent = Recent(size=10)
    for rev in (1, 2, 3, 2, 5, 6):  # 2 again is a copy; 4 went missing
        recent.add(rev, f"t{rev}", b"f")
    assert frames(recent, 4) == [5, 6]
    assert frames(recent, 3) is None  # would skip 4


def test_the_window_keeps_the_latest_frames_only():
    recent = Recent(size=3)
    for rev in range(1, 11):
        recent.add(rev, f"t{rev}", b"f")
    assert frames(recent, 7) == [8, 9, 10]
    assert frames(recent, 6) is None
