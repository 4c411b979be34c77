"""SQLite storage: schema and migrations, encryption of credentials, one module per table family."""
