"""Proof tools: the invariant monitor, the least-privilege and ASL checks, and the benchmark."""
