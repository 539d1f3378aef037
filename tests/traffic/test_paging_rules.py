"""``paging_complete`` as the proxy sees it: walks of pages, each case with the exact finding."""

from __future__ import annotations

import time

import pytest

from rooms_kit.traffic import paging
from rooms_kit.traffic.paging import Page, Walk, Walks

INVITED = ["a", "b", "c"]


def _walk(
    walks: Walks, *pages: tuple[str | None, list[str], str | None], size: int = 2
) -> tuple[Walk | None, list[str]]:
    """Follow ``pages`` (token sent, rooms served, next token) one second apart; the titles."""
    titles: list[str] = []
    walk = None
    for second, (token, rooms, next_token) in enumerate(pages, 1):
        walk, found = walks.follow(Page("player-1", token, size, rooms, next_token, float(second)))
        titles += [f"{failure.check}: {failure.title}" for failure in found]
    return walk, titles


# pages, then what the walk is told (the checks and titles), in order
CATALOGUE = [
    ("clean", [(None, ["a", "b"], "t1"), ("t1", ["c"], None)], []),
    (
        "page_too_long",
        [(None, ["a", "b", "c"], None)],
        ["paging_complete: a page holds more rooms than maxResults"],
    ),
    (
        "starts_over",
        [(None, ["a", "b"], "t1"), ("t1", ["c"], "again"), ("again", ["a", "b"], "t1")],
        ["paging_complete: one walk through the pages served a room twice"],
    ),
    (
        "token_loops_with_fresh_rooms",
        [(None, ["a", "b"], "t1"), ("t1", ["c", "d"], "t1")],
        ["paging_complete: the next page token leads back to a page already served"],
    ),
    (
        "same_room_twice_on_a_page",
        [(None, ["a", "a"], None)],
        ["paging_complete: one walk through the pages served a room twice"],
    ),
]


@pytest.mark.parametrize(("name", "pages", "titles"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_walk(
    name: str, pages: list[tuple[str | None, list[str], str | None]], titles: list[str]
) -> None:
    _, found = _walk(Walks(), *pages)
    assert found == titles


def test_a_full_last_page_that_leaves_an_invitation_out_lost_it() -> None:
    walks = Walks()
    walk, found = _walk(walks, (None, ["a", "b"], None))
    assert walk is not None and found == []
    lost = walks.lost(walk, "player-1", INVITED)
    assert [(f.check, f.title) for f in lost] == [
        ("paging_complete", "the pages ended before every invitation was served")
    ]
    assert lost[0].message == "player-1's walk of 1 page(s) never served c"


def test_a_walk_that_served_everything_lost_nothing() -> None:
    walks = Walks()
    walk, _ = _walk(walks, (None, ["a", "b"], "t1"), ("t1", ["c"], None))
    assert walk is not None and walks.lost(walk, "player-1", INVITED) == []


def test_a_single_page_that_was_not_full_is_left_to_invitation_listed() -> None:
    walks = Walks()
    walk, _ = _walk(walks, (None, ["a"], None), size=5)
    assert walk is not None and walks.lost(walk, "player-1", INVITED) == []


def test_a_change_during_the_walk_silences_repeats_and_losses() -> None:
    walks = Walks()
    walks.follow(Page("player-1", None, 2, ["a", "b"], "t1", 1.0))
    walks.changed(1.5)  # an invitation came or went while the walk went on
    walk, found = walks.follow(Page("player-1", "t1", 2, ["b"], None, 2.0))
    assert found == []
    assert walk is not None and walks.lost(walk, "player-1", INVITED) == []


def test_a_token_handed_to_another_player_or_never_given_starts_nothing() -> None:
    walks = Walks()
    walks.follow(Page("player-1", None, 2, ["a", "b"], "t1", 1.0))
    assert walks.follow(Page("player-2", "t1", 2, ["a", "b"], "t1", 2.0)) == (None, [])
    assert walks.follow(Page("player-1", "never", 2, ["a"], None, 3.0)) == (None, [])


def test_walks_followed_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "MAX_WALKS", 2)
    walks = Walks()
    for number in range(3):
        walks.follow(Page("player-1", None, 1, [f"r{number}"], f"t{number}", float(number)))
    assert walks.follow(Page("player-1", "t0", 1, ["x"], None, 9.0)) == (None, [])  # forgotten
    walk, _ = walks.follow(Page("player-1", "t2", 1, ["x"], None, 9.0))
    assert walk is not None and walk.pages == 2


def test_a_huge_page_is_judged_in_one_pass() -> None:
    # each room was counted with list.count: n² steps, about 6 minutes of a blocked proxy for a
    # page of 200,000 rooms (an upstream's 4 MiB answer); the bound only catches that hang
    rooms = [f"room-{number}" for number in range(200_000)] + ["room-7"]
    started = time.process_time()
    walk, found = Walks().follow(Page("player-1", None, None, rooms, None, 1.0))
    assert time.process_time() - started < 20
    assert walk is not None and walk.pages == 1
    assert [(f.title, f.message.split(" (")[0]) for f in found] == [
        (
            "one walk through the pages served a room twice",
            "page 1 of player-1's walk served again room-7",
        )
    ]


def test_long_ids_and_tokens_are_not_kept() -> None:
    # each of 10,000 open walks kept the room ids it served and its next token whatever their
    # length: an upstream serving 8 MiB ids or tokens could make that tens of gigabytes
    walks = Walks()
    long_room = "r" * (paging.MAX_ID_CHARS + 1)
    long_token = "t" * (paging.MAX_TOKEN_CHARS + 1)
    walk, found = walks.follow(Page("player-1", None, 2, ["a", long_room], long_token, 1.0))
    assert found == [] and walk is not None
    assert walk.served == {"a"}
    assert walks.follow(Page("player-1", long_token, 2, ["b"], None, 2.0)) == (None, [])
    # a long id served twice on one page is still seen
    _, titles = _walk(Walks(), (None, [long_room, long_room], None))
    assert titles == ["paging_complete: one walk through the pages served a room twice"]
