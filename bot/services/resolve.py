"""Which of a user's accounts `/refresh <text>` means: by id, by name, or by a unique part of one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.storage.records import KnownAccount


@dataclass(frozen=True)
class Resolution:
    """Exactly one of: a `match`, several `candidates`, or neither (nothing matched)."""

    match: KnownAccount | None = None
    candidates: list[KnownAccount] = field(default_factory=list)


# Quotes a name may be put in: `/refresh "My Binance US"`, „…“, «…», ‘…’.
_QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "„": "“", "«": "»", "‘": "’", "`": "`"}


def unquoted(query: str) -> str:
    """The query without one pair of quotes around all of it."""
    text = query.strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1]
    return text


def resolve_account(accounts: Sequence[KnownAccount], query: str) -> Resolution:
    wanted = " ".join(unquoted(query).split()).casefold()
    if not wanted:
        return Resolution()
    if wanted.isdigit():
        by_id = [account for account in accounts if str(account.account_id) == wanted]
        if by_id:
            return Resolution(match=by_id[0])
    exact = [account for account in accounts if (account.name or "").casefold() == wanted]
    if len(exact) == 1:
        return Resolution(match=exact[0])
    if exact:
        return Resolution(candidates=exact)
    partial = [account for account in accounts if wanted in (account.name or "").casefold()]
    if len(partial) == 1:
        return Resolution(match=partial[0])
    return Resolution(candidates=partial)
