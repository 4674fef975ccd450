"""The recommender engine: interaction matrix, models, persistence, evaluation, tuning.

Faces import :mod:`animerec_tui.core.recommend.service`; the rest is its machinery.
"""
