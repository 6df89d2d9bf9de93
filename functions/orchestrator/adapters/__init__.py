"""AWS adapters: one small module per service. Clients are built once with standard-mode retries."""
