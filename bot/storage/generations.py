"""When each user's stored data last changed hands (connected another key, disconnected), so a
write that began before cannot bring back what the change removed."""

from __future__ import annotations

from collections import OrderedDict

# Users whose last change is remembered; beyond them an older change counts for everyone, which
# only drops a background write that might have been fine.
REMEMBERED_USERS = 100_000


class UserGenerations:
    """A stamp taken when a write begins, checked inside its transaction on the database thread.

    Changes are made on the database thread too, inside the transaction that makes them, so a
    check and a change never interleave: the worker runs one transaction at a time."""

    def __init__(self, size: int = REMEMBERED_USERS) -> None:
        self._size = size
        self._stamp = 0
        self._changed: OrderedDict[int, int] = OrderedDict()
        self._forgotten = 0  # the newest change no longer remembered

    def stamp(self) -> int:
        """Taken before a write begins (reading 3Commas, say)."""
        return self._stamp

    def change(self, user_id: int) -> None:
        """The user's data changed hands: every write begun before is dropped."""
        stamp = self._stamp + 1
        # Remembered before the stamp moves: a write that sees the new stamp sees the change.
        self._changed[user_id] = stamp
        self._changed.move_to_end(user_id)
        self._stamp = stamp
        while len(self._changed) > self._size:
            _, forgotten = self._changed.popitem(last=False)
            self._forgotten = max(self._forgotten, forgotten)

    def unchanged_since(self, user_id: int, stamp: int) -> bool:
        return self._changed.get(user_id, 0) <= stamp and self._forgotten <= stamp
