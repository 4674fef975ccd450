"""The app's screens; each one is a thin view over a core operation run in a named worker."""
