"""The web UI in a real browser, against real nodes."""
