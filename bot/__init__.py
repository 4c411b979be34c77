"""A Telegram bot that shows 3Commas account balances and profits."""
