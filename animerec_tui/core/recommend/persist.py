"""Saving and loading trained models without pickle.

A saved model is two files in ``settings.model_dir``:

* ``<kind>-<token>.npz``: the arrays, read back with ``np.load(allow_pickle=False)``, so a
  hostile file can at worst fail to load, never run code;
* ``<kind>.json``: metadata (format version, model kind, parameters, the cache fingerprint it
  was trained on, id maps, creation time, library versions) naming its ``.npz`` and that
  file's SHA-256.

Both are written to a temporary file in the same folder and ``os.replace``d into place, the
``.npz`` first and the JSON last, so the JSON is the commit point: a crash at any moment
leaves either the previous model or the new one, never a mix (a JSON whose ``.npz`` digest does
not match is reported as corrupt). Any problem loading is a :class:`ModelError` with one line;
callers retrain.

A writer killed mid-save (SIGKILL, power loss: no ``finally`` runs) leaves its temporary file
behind, as big as a model. Temporary names carry the writer's pid, and the next save removes
those whose writer is gone (or that are a day old), so kills cannot fill the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import secrets
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from animerec_tui.core.errors import ModelError
from animerec_tui.core.recommend.models import MODEL_KINDS, Model
from animerec_tui.core.settings import ModelParams, Weights

FORMAT_VERSION = 1


@dataclass
class ModelMeta:
    kind: str
    fingerprint: str
    user_ids: list[str]
    anime_ids: list[str]
    params: dict[str, Any]
    weights: dict[str, Any]
    model: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    train_seconds: float = 0.0
    npz: str = ""
    sha256: str = ""

    @property
    def cache_id(self) -> str:
        return self.fingerprint.split(":", 1)[0]

    def model_params(self) -> ModelParams:
        return ModelParams(**self.params)

    def weights_obj(self) -> Weights:
        return Weights(**self.weights)


def library_versions() -> dict[str, str]:
    import implicit
    import scipy

    import animerec_tui

    return {
        "animerec": getattr(animerec_tui, "__version__", "0"),
        "implicit": implicit.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def meta_path(model_dir: Path, kind: str) -> Path:
    return model_dir / f"{kind}.json"


TEMP_SUFFIX = ".tmp"
STALE_TEMP_SECONDS = 24 * 3600
"""A temporary file this old is abandoned whoever wrote it (a save takes seconds)."""


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temp file in the same folder, fsync, then rename over ``path``.

    The temp file is ``.<name>.<pid>.<random>.tmp``: the pid lets :func:`_sweep_temp_files`
    tell a killed writer's leftover from a save in progress in another process.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _writer_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be writing (True when that cannot be told)."""
    if os.name != "posix":  # no safe liveness probe (os.kill(pid, 0) signals on Windows)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _sweep_temp_files(model_dir: Path) -> None:
    """Remove temporary files left by writers that were killed mid-save.

    Only files named by :func:`_atomic_write` are touched, and only when the process that
    named them no longer exists or they are older than :data:`STALE_TEMP_SECONDS`, so a save
    running in another process at the same moment keeps its file.
    """
    now = time.time()
    for tmp in model_dir.glob(f".*{TEMP_SUFFIX}"):
        parts = tmp.name[1 : -len(TEMP_SUFFIX)].rsplit(".", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        try:
            stale = now - tmp.stat().st_mtime > STALE_TEMP_SECONDS
        except OSError:
            continue
        if stale or (pid is not None and pid != os.getpid() and not _writer_alive(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(
    model: Model,
    meta: ModelMeta,
    model_dir: Path,
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Save atomically; returns the JSON path. Older arrays of the same kind are removed.

    ``extra`` arrays (service-level data such as per-anime counts) are stored beside the
    model's own under an ``x_`` prefix.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    _sweep_temp_files(model_dir)
    meta.kind = model.kind
    meta.model = model.meta()
    meta.format_version = FORMAT_VERSION
    meta.created_at = meta.created_at or datetime.now(UTC).isoformat(timespec="seconds")
    meta.versions = meta.versions or library_versions()
    npz = model_dir / f"{model.kind}-{int(time.time())}-{secrets.token_hex(4)}.npz"
    # values typed Any: numpy's stub reads ``**arrays`` as possibly holding ``allow_pickle``
    arrays: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in model.arrays().items()}
    arrays.update({f"x_{k}": np.ascontiguousarray(v) for k, v in (extra or {}).items()})
    _atomic_write(npz, lambda fh: np.savez(fh, **arrays))
    meta.npz = npz.name
    meta.sha256 = _sha256(npz)
    target = meta_path(model_dir, model.kind)
    payload = json.dumps(asdict(meta), ensure_ascii=False).encode("utf-8")
    _atomic_write(target, lambda fh: fh.write(payload))
    for old in model_dir.glob(f"{model.kind}-*.npz"):  # superseded arrays
        if old.name != npz.name:
            with contextlib.suppress(OSError):
                old.unlink()
    return target


def _bad(path: Path, why: str) -> ModelError:
    return ModelError(f"The saved model {path} {why}; it will be retrained.")


def read_meta(path: Path) -> ModelMeta:
    """Parse and sanity-check the JSON half; ModelError on anything unexpected."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"No saved model at {path}.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad(path, f"cannot be read ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise _bad(path, "is not a model description")
    if raw.get("format_version") != FORMAT_VERSION:
        raise _bad(path, f"has format version {raw.get('format_version')!r}, not {FORMAT_VERSION}")
    try:
        meta = ModelMeta(**raw)
        meta.model_params()
        meta.weights_obj()
    except TypeError as exc:
        raise _bad(path, f"has unexpected metadata ({exc})") from None
    if meta.kind not in MODEL_KINDS:
        raise _bad(path, f"is of unknown kind {meta.kind!r}")
    if not (
        isinstance(meta.user_ids, list)
        and isinstance(meta.anime_ids, list)
        and all(isinstance(u, str) for u in meta.user_ids)
        and all(isinstance(a, str) and a.isdigit() for a in meta.anime_ids)
    ):
        raise _bad(path, "has malformed id maps")
    if not isinstance(meta.fingerprint, str) or ":" not in meta.fingerprint:
        raise _bad(path, "has no data fingerprint")
    name = meta.npz
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".npz"):
        raise _bad(path, "names an invalid arrays file")
    return meta


def load_model(
    model_dir: Path, kind: str, *, cache_id: str, verify: bool = True
) -> tuple[Model, ModelMeta, dict[str, np.ndarray]]:
    """Load ``kind`` from ``model_dir``; ModelError if missing, corrupt, truncated or foreign.

    ``cache_id`` is the current cache's id: a model trained on another cache is foreign even
    when its shapes happen to fit, because its rows would belong to different people.
    """
    path = meta_path(model_dir, kind)
    meta = read_meta(path)
    if meta.kind != kind:
        raise _bad(path, f"holds a {meta.kind} model, not {kind}")
    if meta.cache_id != cache_id:
        raise ModelError(
            f"The saved model {path} was trained on another cache; it will be retrained."
        )
    npz = model_dir / meta.npz
    if verify:
        try:
            digest = _sha256(npz)
        except OSError:
            raise _bad(path, f"is missing its arrays file {meta.npz}") from None
        if digest != meta.sha256:
            raise _bad(path, "has an arrays file that does not match its checksum")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise _bad(path, f"has unreadable arrays ({type(exc).__name__})") from None
    cls = MODEL_KINDS[meta.kind]
    try:
        model = cls.restore(
            {**meta.model, "params": meta.params}, arrays, len(meta.user_ids), len(meta.anime_ids)
        )
        model.prepare()
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, np.linalg.LinAlgError) as exc:
        raise _bad(path, f"cannot be restored ({type(exc).__name__}: {exc})") from None
    extra = {k[2:]: v for k, v in arrays.items() if k.startswith("x_")}
    return model, meta, extra
