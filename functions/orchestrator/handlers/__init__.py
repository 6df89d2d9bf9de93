"""Lambda entry points: parse the event into a model, make one domain call, return a JSON-ready dict."""
