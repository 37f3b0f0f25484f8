"""One ComponentResource per module; each takes a typed args object built from the config models."""
