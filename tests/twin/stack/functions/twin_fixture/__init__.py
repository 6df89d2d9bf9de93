"""Lambda code of the twin's test stack."""
