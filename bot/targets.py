"""Which account a request is about, from the database to 3Commas: one account id, or all."""

from __future__ import annotations

from typing import Final, Literal

ALL_ACCOUNTS: Final = "all"
# An account id, or "all": every account (3Commas' summary, a subscription's NULL account_id).
Target = int | Literal["all"]
