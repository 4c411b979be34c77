"""The Mini App (the dashboard inside Telegram): its init data check, data and routes."""
