"""The product CLI: command parsing (`commands`), the operations it runs (`ops`) and the terminal views (`views`)."""
