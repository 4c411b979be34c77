"""How the bot talks to Telegram: the Bot API client, flood control, incoming updates, the HTTP server (webhook and /healthz), start-up, and sending replies."""
