"""Paging walks a player makes through ``list``, followed from token to token (``paging_complete``).

A walk begins with a ``list`` without ``pageToken`` and goes on with each request that sends back
the ``nextPageToken`` the same player was given; it ends with a page that gives none. Traffic can
show three ways a server breaks paging:

- a page holds more rooms than the ``maxResults`` asked for;
- a walk serves a room twice, or hands out a token it already followed (a walk that starts over
  or loops), while nothing changed the rooms between its first request and that answer;
- a walk whose pages were full (or that took more than one page) ends while a room the player was
  known to be invited to, before the walk began, was never served (the pages lost it).

A single page that was not full and lacks an invitation is ``invitation_listed``'s finding, not
this one. Memory is bounded: at most ``MAX_WALKS`` walks are followed (the oldest are forgotten),
each remembering the room ids it served, at most ``MAX_SERVED`` of them and none longer than
``MAX_ID_CHARS``; a next token longer than ``MAX_TOKEN_CHARS`` opens no walk.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from rooms_kit.contract.failures import ContractFailure

MAX_WALKS = 10_000
MAX_SERVED = 10_000
MAX_ID_CHARS = 1024
"""A longer id (a room's, a player's, a ``requestId``) is not remembered, here or by the rules of
``lifecycle``: their tables hold ids by the hundred thousand. A longer room id is still counted."""
MAX_TOKEN_CHARS = 16 * 1024  # a longer next token opens no walk: no request head could carry it
PAGING = "paging_complete"


@dataclass
class Walk:
    began: float  # when the first page was asked for (wall clock, as ``Seen.started``)
    served: set[str] = field(default_factory=set)
    tokens: list[str] = field(default_factory=list)  # tokens followed so far, in order
    pages: int = 0
    full: bool = True  # every page so far held as many rooms as maxResults asked


@dataclass
class Page:
    """One ``list`` answer as the walk needs it."""

    player: str
    token: str | None  # the pageToken sent
    max_results: int | None
    rooms: list[str]  # room ids in the order served
    next_token: str | None
    sent: float


class Walks:
    def __init__(self) -> None:
        self._open: OrderedDict[tuple[str, str], Walk] = OrderedDict()
        self.changed_at = 0.0  # when the latest answer to a change (create, join ...) completed

    def changed(self, done: float) -> None:
        self.changed_at = max(self.changed_at, done)

    def follow(self, page: Page) -> tuple[Walk | None, list[ContractFailure]]:
        """The walk this page belongs to (None: a token this proxy never handed out) and what the
        page breaks; the walk is finished when the page gives no next token."""
        if page.token is None:
            walk: Walk | None = Walk(began=page.sent)
        else:
            walk = self._open.pop((page.player, page.token), None)
        if walk is None:
            return None, []
        found: list[ContractFailure] = []
        if page.max_results is not None and len(page.rooms) > page.max_results:
            found.append(
                ContractFailure(
                    PAGING,
                    "a page holds more rooms than maxResults",
                    f"{len(page.rooms)} rooms for maxResults={page.max_results}",
                )
            )
        if self.changed_at < walk.began:  # nothing moved the rooms while the walk went on
            found += self._repeats(page, walk)
        walk.pages += 1
        walk.full = walk.full and page.max_results is not None
        walk.full = walk.full and len(page.rooms) >= (page.max_results or 0)
        if page.token is not None:
            walk.tokens.append(page.token)
        if len(walk.served) < MAX_SERVED:
            walk.served.update(room for room in page.rooms if len(room) <= MAX_ID_CHARS)
        if page.next_token is not None and len(page.next_token) > MAX_TOKEN_CHARS:
            return walk, found  # never followed: a request head is at most 16 KiB
        if page.next_token is not None and not found:
            self._open[(page.player, page.next_token)] = walk
            if len(self._open) > MAX_WALKS:
                self._open.popitem(last=False)
        return walk, found

    def _repeats(self, page: Page, walk: Walk) -> list[ContractFailure]:
        again = sorted({room for room in page.rooms if room in walk.served})
        counts = Counter(page.rooms)  # counting each room with list.count took n² steps
        doubled = sorted(room for room, times in counts.items() if times > 1)
        chain = " -> ".join(["(first page)", *walk.tokens, page.token or ""][-6:])
        found: list[ContractFailure] = []
        if again or doubled:
            found.append(
                ContractFailure(
                    PAGING,
                    "one walk through the pages served a room twice",
                    f"page {walk.pages + 1} of {page.player}'s walk served again "
                    f"{', '.join(again or doubled)} (tokens followed: {chain})",
                )
            )
        elif page.next_token is not None and (
            page.next_token in walk.tokens or page.next_token == page.token
        ):
            found.append(
                ContractFailure(
                    PAGING,
                    "the next page token leads back to a page already served",
                    f"page {walk.pages + 1} of {page.player}'s walk gave "
                    f"{page.next_token} again (tokens followed: {chain})",
                )
            )
        return found

    def lost(self, walk: Walk, player: str, invited: list[str]) -> list[ContractFailure]:
        """At the end of a walk: rooms the player was invited to before it began, never served
        (``invited``: those rooms, already filtered by the caller)."""
        paged = walk.pages > 1 or walk.full
        missing = [room for room in invited if room not in walk.served]
        if not paged or not missing or self.changed_at >= walk.began:
            return []
        return [
            ContractFailure(
                PAGING,
                "the pages ended before every invitation was served",
                f"{player}'s walk of {walk.pages} page(s) never served {', '.join(missing)}",
            )
        ]
