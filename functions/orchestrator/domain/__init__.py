"""Domain logic: typed values in, typed values out. No event shapes, no environment, no clients built here."""
