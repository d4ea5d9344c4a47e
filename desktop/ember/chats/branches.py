"""Message versions as a tree: which branch of it a chat shows.

Every message names its parent (the message before it; None for a chat's first) and whether it
is the chosen one among its siblings (the versions of one message: an edited question, a
regenerated answer). The chat shows the branch found by starting at the chosen first message and
following the chosen child down. Pure functions over plain rows; the chat store runs the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

# (message id, parent id or None, chosen among its siblings)
TreeRow = tuple[int, int | None, bool]

# Every message below one (its answers, their versions, what follows them), itself excluded.
BELOW = (
    "WITH RECURSIVE below(id) AS (SELECT id FROM messages WHERE parent_id = ?"
    " UNION ALL SELECT m.id FROM messages m JOIN below b ON m.parent_id = b.id)"
    " SELECT id FROM below"
)
# The way from one message up to its chat's first message (itself first), with each one's role
# and whether it is the chosen version among its siblings.
PATH_UP = (
    "WITH RECURSIVE up(id, parent_id, role, chosen) AS (SELECT id, parent_id, role, chosen"
    " FROM messages WHERE id = ? UNION ALL SELECT m.id, m.parent_id, m.role, m.chosen"
    " FROM messages m JOIN up ON m.id = up.parent_id) SELECT id, parent_id, role, chosen FROM up"
)


def chosen_branch(rows: Iterable[TreeRow]) -> list[tuple[int, tuple[int, ...]]]:
    """The chosen branch, first message first: each step as (message id, ids of every version
    of that message, oldest first).

    Tolerates what a damaged or hand-edited file may hold: where no sibling is marked chosen the
    newest is taken, where several are the newest of those, and a loop ends the branch."""
    children: dict[int | None, list[tuple[int, bool]]] = {}
    for message_id, parent_id, chosen in sorted(rows):
        children.setdefault(parent_id, []).append((message_id, bool(chosen)))
    branch: list[tuple[int, tuple[int, ...]]] = []
    seen: set[int] = set()
    parent: int | None = None
    while kids := children.get(parent):
        picked = next((i for i, chosen in reversed(kids) if chosen), kids[-1][0])
        if picked in seen:
            break
        seen.add(picked)
        branch.append((picked, tuple(i for i, _ in kids)))
        parent = picked
    return branch
