"""Which account a holdings, chart or profit request is about: one account id, or all of them."""

from __future__ import annotations

from typing import Literal

from bot.storage.records import ALL_ACCOUNTS
from bot.threecommas.models import SUMMARY, AccountRef

# An account id, or "all": 3Commas' summary of every account included in it.
Target = int | Literal["all"]


def account_ref(target: Target) -> AccountRef:
    """The account as 3Commas names it in a path: its id, or `summary` for all."""
    return SUMMARY if target == ALL_ACCOUNTS else int(target)
