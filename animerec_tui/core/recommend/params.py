"""Which hyper-parameters a model is trained and evaluated with.

The settings file wins where a person changed a value from its default; everything else comes
from the cache's tuned configuration (saved by :func:`.tune.tune` under :data:`TUNED_STATE_KEY`)
when there is one, else from :class:`~animerec_tui.core.settings.ModelParams`' defaults.
Training (:mod:`.service`), evaluation (:mod:`.evaluate`) and tuning (:mod:`.tune`) all resolve
parameters here, so none of them imports another for it.
"""

from __future__ import annotations

from dataclasses import fields, replace

from animerec_tui.core.cache import Cache
from animerec_tui.core.settings import ModelParams, Settings

DEFAULT_KIND = "blend"
"""The model ``train``, ``recommend`` and the app use unless told otherwise."""
TUNED_STATE_KEY = "tuned_params"
"""The cache state key holding the tuned configuration (a JSON object with ``params``)."""


def tuned_params(cache: Cache) -> ModelParams | None:
    """The cache's tuned ALS configuration, if ``train --tune`` saved one (ignored if invalid)."""
    state = cache.get_state(TUNED_STATE_KEY)
    if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
        return None
    known = {f.name for f in fields(ModelParams)}
    try:
        return ModelParams(**{k: v for k, v in state["params"].items() if k in known})
    except TypeError:
        return None


def effective_params(cache: Cache, settings: Settings) -> ModelParams:
    """Settings-file values that differ from the defaults > tuned params > defaults.

    A value a person wrote into settings.toml wins over tuning; everything they left alone
    comes from the cache's tuned configuration when there is one.
    """
    tuned = tuned_params(cache)
    if tuned is None:
        return settings.model
    defaults = ModelParams()
    explicit = {
        f.name: getattr(settings.model, f.name)
        for f in fields(ModelParams)
        if getattr(settings.model, f.name) != getattr(defaults, f.name)
    }
    return replace(tuned, **explicit)
