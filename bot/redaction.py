"""Finding registered secrets in a text in time linear in the text, whatever their number.

A secret of LONG_SECRET characters or more has WINDOW consecutive windows of WINDOW characters
indexed by hash; wherever it stands in a text, one of them starts at a multiple of WINDOW. So a
text is looked up at every WINDOW-th position only, and a hit is confirmed by the hash of the
whole secret at that place. Shorter secrets are looked up as whole words. The registry keeps
hashes, not the secrets.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable

WINDOW = 16
LONG_SECRET = 2 * WINDOW - 1
MIN_SECRET_LENGTH = 6
# Secrets that share a window with this many others are found another way (see _place).
SHARED_WINDOW_LIMIT = 4
# Secrets in use (stored keys, pending key pairs, keys being tried, the bot's own): beyond
# this, the owners seen longest ago are forgotten first, and come back when their key is read.
HELD_SECRETS = 40_000
# Secrets no longer in use (a key pair replaced by a newer one), oldest forgotten first.
SUPERSEDED_SECRETS = 10_000
# Short secrets with a separator inside, or long ones without distinct windows: searched one by
# one, so only this many.
ODD_SECRETS = 64

_SEPARATORS = r"\s\"'`,.;:!()\[\]{}<>=&?/\\|"
# A whole word of a short secret's length: the look-arounds make it start and end a run.
_SHORT_WORD = re.compile(
    rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}]{{{MIN_SECRET_LENGTH},{LONG_SECRET - 1}}}"
    rf"(?![^{_SEPARATORS}])"
)
_ONE_WORD = re.compile(rf"[^{_SEPARATORS}]+")

Fingerprint = tuple[int, int]  # hash and length
_Entry = tuple[int, int, int]  # offset of the window in the secret, length, hash


def fingerprint(secret: str) -> Fingerprint:
    return hash(secret), len(secret)


class _Index:
    """Where each secret can be found; not thread-safe (the registry locks)."""

    def __init__(self) -> None:
        self._windows: dict[int, list[_Entry]] = {}
        self._placed: dict[Fingerprint, list[int]] = {}
        self._words: set[int] = set()
        self._odd: OrderedDict[Fingerprint, str] = OrderedDict()

    def add(self, secret: str) -> None:
        key = fingerprint(secret)
        if len(secret) >= LONG_SECRET and self._place(secret, key):
            return
        if len(secret) < LONG_SECRET and _ONE_WORD.fullmatch(secret):
            self._words.add(key[0])
            return
        self._odd[key] = secret
        while len(self._odd) > ODD_SECRETS:
            self._odd.popitem(last=False)

    def _place(self, secret: str, key: Fingerprint) -> bool:
        """Index WINDOW distinct windows that few other secrets share; False if there are none
        (a secret like 'aaaa…', or one crafted to collide)."""
        last = len(secret) - LONG_SECRET
        middle = last // 2 // WINDOW * WINDOW
        for start in (middle, *range(0, last + 1, WINDOW)):
            hashes = [hash(secret[start + d : start + d + WINDOW]) for d in range(WINDOW)]
            crowded = any(len(self._windows.get(h, ())) >= SHARED_WINDOW_LIMIT for h in hashes)
            if crowded or len(set(hashes)) < WINDOW:
                continue
            for d, window in enumerate(hashes):
                self._windows.setdefault(window, []).append((start + d, len(secret), key[0]))
            self._placed[key] = hashes
            return True
        return False

    def remove(self, key: Fingerprint) -> None:
        hashes = self._placed.pop(key, None)
        if hashes is not None:
            for window in hashes:
                bucket = self._windows[window]
                bucket[:] = [entry for entry in bucket if (entry[2], entry[1]) != key]
                if not bucket:
                    del self._windows[window]
            return
        self._odd.pop(key, None)
        if key[1] < LONG_SECRET:
            self._words.discard(key[0])

    def spans(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        size = len(text)
        windows = self._windows
        if windows:
            for at in range(0, size - WINDOW + 1, WINDOW):
                for offset, length, whole in windows.get(hash(text[at : at + WINDOW]), ()):
                    start = at - offset
                    end = start + length
                    if start >= 0 and end <= size and hash(text[start:end]) == whole:
                        found.append((start, end))
        if self._words:
            found += [m.span() for m in _SHORT_WORD.finditer(text) if hash(m[0]) in self._words]
        for secret in self._odd.values():
            start = text.find(secret)
            while start >= 0:
                found.append((start, start + len(secret)))
                start = text.find(secret, start + len(secret))
        return found


def _replaced(text: str, spans: list[tuple[int, int]], replacement: str) -> str:
    """`text` with every span (overlapping ones merged) replaced."""
    parts: list[str] = []
    done = 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        if start >= done:
            parts += [text[done:start], replacement]
        done = end
    return "".join([*parts, text[done:]])


class SecretRegistry:
    """The secrets this process must keep out of its logs.

    Each owner (a user's stored key, their pending key pair, a key being tried) holds the
    secrets it uses now; what it held before is kept among the superseded, which are forgotten
    oldest first. So one user making key pairs over and over pushes out only superseded
    secrets, never another user's key in use.
    """

    def __init__(
        self, held_limit: int = HELD_SECRETS, superseded_limit: int = SUPERSEDED_SECRETS
    ) -> None:
        self._held_limit = held_limit
        self._superseded_limit = superseded_limit
        self._index = _Index()
        self._uses: dict[Fingerprint, int] = {}
        self._owners: OrderedDict[Hashable, tuple[Fingerprint, ...]] = OrderedDict()
        self._held = 0
        self._superseded: OrderedDict[Fingerprint, None] = OrderedDict()
        self._permanent: set[Fingerprint] = set()
        # Secrets are added from worker threads too (a key pair is made off the event loop).
        self._lock = threading.Lock()

    def add_permanent(self, values: Iterable[str | None]) -> None:
        """Secrets of the process itself (the bot token): never forgotten."""
        with self._lock:
            for value in _valid(values):
                key = fingerprint(value)
                if key not in self._permanent:
                    self._permanent.add(key)
                    self._use(key, value)

    def hold(self, owner: Hashable, values: Iterable[str | None]) -> None:
        """The secrets `owner` uses now, in place of those it held before."""
        secrets = {fingerprint(value): value for value in _valid(values)}
        with self._lock:
            before = self._owners.pop(owner, ())
            if before == tuple(secrets):
                self._owners[owner] = before
                return
            for key, value in secrets.items():
                if key not in before:
                    self._use(key, value)
            self._owners[owner] = tuple(secrets)
            self._held += len(secrets) - len(before)
            self._supersede(key for key in before if key not in secrets)
            while self._held > self._held_limit and len(self._owners) > 1:
                _, forgotten = self._owners.popitem(last=False)
                self._held -= len(forgotten)
                self._supersede(forgotten)

    def add_superseded(self, values: Iterable[str | None]) -> None:
        """Secrets seen but held by no owner (a key pair made before it is stored)."""
        with self._lock:
            for value in _valid(values):
                key = fingerprint(value)
                if key not in self._superseded:
                    self._use(key, value)
                    self._superseded[key] = None
            self._trim_superseded()

    def release(self, owner: Hashable) -> None:
        """`owner` uses its secrets no more (they stay among the superseded)."""
        with self._lock:
            before = self._owners.pop(owner, ())
            self._held -= len(before)
            self._supersede(before)

    def redact(self, text: str, replacement: str = "[redacted]") -> str:
        with self._lock:
            spans = self._index.spans(text)
        return _replaced(text, spans, replacement) if spans else text

    def __len__(self) -> int:
        return len(self._uses)

    def _use(self, key: Fingerprint, value: str) -> None:
        uses = self._uses.get(key, 0)
        if uses == 0:
            self._index.add(value)
        self._uses[key] = uses + 1

    def _unuse(self, key: Fingerprint) -> None:
        uses = self._uses.pop(key) - 1
        if uses:
            self._uses[key] = uses
        else:
            self._index.remove(key)

    def _supersede(self, keys: Iterable[Fingerprint]) -> None:
        for key in keys:
            if key in self._superseded:
                self._superseded.move_to_end(key)
                self._unuse(key)  # it keeps the use it has as superseded
            else:
                self._superseded[key] = None  # the owner's use passes to the superseded
        self._trim_superseded()

    def _trim_superseded(self) -> None:
        while len(self._superseded) > self._superseded_limit:
            key, _ = self._superseded.popitem(last=False)
            self._unuse(key)


def _valid(values: Iterable[str | None]) -> list[str]:
    return [value for value in values if value and len(value) >= MIN_SECRET_LENGTH]
