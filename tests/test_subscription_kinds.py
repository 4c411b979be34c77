"""A subscription kind is a per-account command run by the clock: every kind names one, and a
scheduled post is that command's reply; a feed (deals) names none and is watched instead."""

from __future__ import annotations

from bot.services.records import FEED_CONTENTS, SubscriptionContent
from bot.telegram.commands import ACCOUNT_COMMANDS
from bot.telegram.handlers.subscription_kinds import SUBSCRIPTION_KINDS


def test_every_subscription_kind_posts_the_reply_of_a_listed_command() -> None:
    assert set(SUBSCRIPTION_KINDS) == set(SubscriptionContent)
    commands = {command.name: command for command in ACCOUNT_COMMANDS}
    for content, kind in SUBSCRIPTION_KINDS.items():
        if content in FEED_CONTENTS:
            assert kind.command is None  # posted by its poller as things happen
            continue
        assert kind.command is not None
        assert commands[kind.command.name] is kind.command
        assert kind.command.takes_all  # a subscription may be for all accounts
