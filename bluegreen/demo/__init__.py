"""The demo: a seeded app, stand-ins for its test endpoints, and the scenes `bluegreen local demo` plays."""
