"""What the bot shows: every sentence, numbers and money as text, HTML, tables, charts, keyboards and signed button data. Pure functions of plain values."""
