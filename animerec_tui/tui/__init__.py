"""The Textual face of animerec: a thin layer over :mod:`animerec_tui.core`.

Nothing here imports numpy-heavy core modules at import time: the recommender, the population
statistics and the crawler are imported inside workers so the search screen paints fast.
"""
