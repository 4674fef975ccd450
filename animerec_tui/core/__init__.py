"""UI-free core. Nothing under this package may import textual or rich (tests enforce it)."""
