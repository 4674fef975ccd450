"""Recommender core: matrix weights, ordering, exclusions, fold-in, persistence, cancellation."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers.clusters import (
    FAST,
    N_CLUSTERS,
    N_USERS,
    PER_CLUSTER,
    clustered_library,
    populate,
)

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import Cancelled, ModelError
from animerec_tui.core.progress import FitProgress
from animerec_tui.core.recommend import persist, service
from animerec_tui.core.recommend.matrix import Confidence, build_interactions
from animerec_tui.core.recommend.models import (
    ALSModel,
    BlendModel,
    EASEModel,
    _spd_inverse,
    make_model,
)
from animerec_tui.core.recommend.ranking import top_n
from animerec_tui.core.records import STATUSES, Favorite, Library, LibraryEntry, User
from animerec_tui.core.settings import ModelParams, Settings, Weights


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache")


@pytest.fixture
def cache(settings: Settings) -> Cache:
    with Cache(settings.db_path) as c:
        populate(c)
        yield c


def test_matrix_weights_sum_status_and_favourite(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite3") as c:
        entries = [
            LibraryEntry("1", "10", "completed", rating_twenty=20, reconsume_count=3),
            LibraryEntry("1", "11", "planned"),
            LibraryEntry("1", "12", "dropped"),
        ]
        favs = [Favorite("1", "10"), Favorite("1", "13")]  # 13: favourite without an entry
        c.save_library(Library(User("1"), entries, favs, {}), synced_at="t")
        c.save_library(
            Library(User("2"), [LibraryEntry("2", "11", "current")], [], {}), synced_at="t"
        )
        inter = build_interactions(c, Weights(use_rating=False))  # the notebook's values
        dense = inter.strength.toarray()
        col = {int(a): i for i, a in enumerate(inter.anime_ids)}
        u1 = inter.user_index["1"]
        assert dense[u1, col[10]] == 11.0  # completed 6 + favourite 5
        assert dense[u1, col[11]] == 3.0 and dense[u1, col[12]] == 1.0
        assert dense[u1, col[13]] == 5.0
        assert dense[inter.user_index["2"], col[11]] == 4.0
        pos = inter.strength.copy()
        pos.data = inter.positive.astype(np.float32)
        assert pos.toarray()[u1, col[12]] == 0 and pos.toarray()[u1, col[10]] == 1
        rated = build_interactions(c, Weights(use_rating=True, use_reconsume=True))
        expected = 6.0 * 20 / 14 + np.log1p(3) * 6.0 + 5.0
        assert rated.strength.toarray()[u1, col[10]] == pytest.approx(expected, rel=1e-5)
        # liked = not dropped and, when rated, rated >= 7/10; favourites always
        c.save_library(
            Library(
                User("3"),
                [
                    LibraryEntry("3", "10", "completed", rating_twenty=8),
                    LibraryEntry("3", "11", "completed", rating_twenty=14),
                    LibraryEntry("3", "12", "completed", rating_twenty=6),
                ],
                [Favorite("3", "12")],
                {},
            ),
            synced_at="t",
        )
        inter = build_interactions(c, Weights())
        pos = inter.strength.copy()
        pos.data = inter.positive.astype(np.float32)
        u3 = inter.user_index["3"]
        assert pos.toarray()[u3, [col[10], col[11], col[12]]].tolist() == [0, 1, 1]
        assert inter.fingerprint == c.fingerprint()


def test_interaction_arrays_match_a_plain_query(tmp_path: Path) -> None:
    """The packed single-read path returns exactly what five plain columns would."""
    with Cache(tmp_path / "c.sqlite3") as c:
        rng = np.random.default_rng(4)
        for u in range(30):
            ids = rng.choice(500, size=int(rng.integers(0, 25)), replace=False) + 1
            entries = [
                LibraryEntry(
                    str(u),
                    str(a),
                    STATUSES[int(rng.integers(5))],
                    rating_twenty=None if a % 3 == 0 else int(2 + a % 19),
                    reconsume_count=int(a % 7) if a % 5 == 0 else (300 if a == 7 else None),
                )
                for a in ids.tolist()
            ]
            favs = [Favorite(str(u), str(a)) for a in rng.choice(600, 3, replace=False) + 1]
            c.save_library(Library(User(str(u)), entries, favs, {}), synced_at="t")
        c.save_users([User(id="seen-only")])
        got = c.interaction_arrays()
        rows = c.query(
            # statuses come out as positions in records.STATUSES: stored code - 1
            """SELECT e.uid, anime_id, status - 1, COALESCE(rating_twenty, 0),
                      MIN(COALESCE(reconsume_count, 0), 255) FROM entries e
               JOIN sync_state USING (uid)"""
        )
        expected = sorted(tuple(r) for r in rows)
        keys = ["uid", "anime_id", "status", "rating_twenty", "reconsume"]
        assert sorted(zip(*(got[k].tolist() for k in keys), strict=True)) == expected
        favs = sorted(tuple(r) for r in c.query("SELECT uid, anime_id FROM favorites"))
        assert (
            sorted(zip(got["fav_uid"].tolist(), got["fav_anime_id"].tolist(), strict=True)) == favs
        )
        assert (
            dict(zip(got["user_uid"].tolist(), got["user_id"].tolist(), strict=True))
            == c.user_ids()
        )
        assert str(got["fingerprint"]) == c.fingerprint()
        # entries in (user, anime) order, as the sort-free matrix build expects
        m = build_interactions(c, Weights())
        assert m.strength.has_sorted_indices and m.strength.nnz == len(expected) + sum(
            1 for f in favs if (f[0], f[1]) not in {(e[0], e[1]) for e in expected}
        )


def test_sort_free_matrix_build_matches_the_sorting_one() -> None:
    from animerec_tui.core.recommend.matrix import interactions_from_arrays

    rng = np.random.default_rng(2)
    key = np.unique(rng.integers(0, 40 * 300, 2000))
    favs = np.unique(np.concatenate([key[::7], rng.integers(0, 40 * 300, 60)]))
    arrays = {
        "uid": key // 300 + 1,
        "anime_id": key % 300 + 1,
        "status": rng.integers(0, 5, len(key)).astype(np.int8),
        "rating_twenty": rng.integers(0, 21, len(key)).astype(np.int8),
        "reconsume": np.zeros(len(key), dtype=np.int16),
        "fav_uid": favs // 300 + 1,
        "fav_anime_id": favs % 300 + 1,
        "user_uid": np.arange(1, 42, dtype=np.int64),
        "user_id": np.array([str(u) for u in range(1, 42)]),
    }
    ordered = interactions_from_arrays(arrays, Weights())
    shuffle = rng.permutation(len(key))
    mixed = {k: (v[shuffle] if len(v) == len(key) else v) for k, v in arrays.items()}
    mixed["user_uid"], mixed["user_id"] = arrays["user_uid"], arrays["user_id"]
    unordered = interactions_from_arrays(mixed, Weights())  # takes the sorting path
    assert ordered.strength.has_sorted_indices
    assert abs(ordered.strength - unordered.strength).max() < 1e-5
    a, b = ordered.strength.copy(), unordered.strength.copy()
    a.data, b.data = ordered.positive.astype(np.float32), unordered.positive.astype(np.float32)
    assert (a != b).nnz == 0 and ordered.strength.nnz == len(np.union1d(key, favs))


def test_bm25_matches_implicit_and_folds_in_identically() -> None:
    from implicit.nearest_neighbours import bm25_weight

    rng = np.random.default_rng(1)
    m = sp.random(50, 40, density=0.2, random_state=1, format="csr", dtype=np.float32)
    m.data = rng.integers(1, 12, m.nnz).astype(np.float32)
    params = ModelParams(weighting="bm25", bm25_k1=1.2, bm25_b=0.75)
    conf = Confidence.fit(m, params)
    ours = conf.apply(m).toarray()
    ref = bm25_weight(m.T.tocsr(), K1=1.2, B=0.75).T.toarray()
    assert np.allclose(ours, ref, rtol=1e-5, atol=1e-6)
    assert np.allclose(conf.apply(m[7]).toarray(), ours[7:8], rtol=1e-5)


def test_top_n_orders_by_score_not_by_id() -> None:
    scores = np.array([0.1, 5.0, -np.inf, 3.0, 5.0, 0.7, 9.0])
    items, s = top_n(scores, 4)
    assert items.tolist() == [6, 1, 4, 3]
    assert s.tolist() == [9.0, 5.0, 5.0, 3.0]
    assert top_n(scores, 100)[0].tolist() == [6, 1, 4, 3, 5, 0]


def test_recommend_ordering_exclusions_and_because(cache: Cache, settings: Settings) -> None:
    service.train(cache, settings, params=FAST)
    loaded = service.load(cache, settings)
    user = "101"
    lib = cache.library(user)
    assert lib is not None
    recs = service.recommend(cache, settings, user, n=15, model=loaded)
    assert [r.rank for r in recs] == list(range(1, 16))
    scores = [r.score for r in recs]
    assert all(a >= b for a, b in itertools.pairwise(scores))
    # rank 1 is the argmax over every allowed anime
    full = loaded.model.scores(
        service.user_library(cache, user, loaded.anime_ids, loaded.weights).row,
        np.array([loaded.user_index[user]]),
    )[0]
    owned = {e.anime_id for e in lib.entries} | {f.anime_id for f in lib.favorites}
    allowed = [
        i
        for i, a in enumerate(loaded.anime_ids.tolist())
        if str(a) not in owned and not loaded.adult[i]
    ]
    best = max(allowed, key=lambda i: full[i])
    assert recs[0].anime_id == str(loaded.anime_ids[best])
    assert recs[0].score == pytest.approx(float(full[best]), rel=1e-5)
    rec_ids = {r.anime_id for r in recs}
    assert not rec_ids & owned  # every status, planned and dropped included
    assert all(not (r.anime and r.anime.adult) for r in recs)
    assert all(int(r.anime_id) % 29 != 0 for r in recs)
    titles = {a.display_title for a in lib.anime.values()}
    assert any(r.because for r in recs)
    assert all(1 <= len(r.because) <= 3 and set(r.because) <= titles for r in recs if r.because)
    # the same user's cluster dominates the top
    cluster = (int(user) - 100) % N_CLUSTERS
    in_cluster = [
        r for r in recs[:5] if cluster * PER_CLUSTER < int(r.anime_id) <= (cluster + 1) * 30
    ]
    assert len(in_cluster) >= 3
    adult = service.recommend(cache, settings, user, n=200, include_adult=True, model=loaded)
    assert any(int(r.anime_id) % 29 == 0 for r in adult)
    movies = service.recommend(cache, settings, user, n=10, subtypes=["MOVIE"], model=loaded)
    assert movies and all(r.anime and r.anime.subtype == "movie" for r in movies)
    planned = {e.anime_id for e in lib.entries if e.status == "planned"}
    with_planned = service.recommend(
        cache, settings, user, n=200, exclude_planned=False, model=loaded
    )
    assert planned and planned <= {r.anime_id for r in with_planned}


def test_fold_in_user_not_in_model_and_stale_flag(cache: Cache, settings: Settings) -> None:
    service.train(cache, settings, model="als", params=FAST)
    _model, info = service.load_or_train(cache, settings, kind="als")
    assert info["stale"] is False
    rng = np.random.default_rng(9)
    cache.save_library(clustered_library("9999", rng, 2), synced_at="2026-02-01")
    loaded = service.load(cache, settings, "als")
    assert loaded.stale and loaded.info["stale"]
    assert "9999" not in loaded.user_index
    recs = service.recommend(cache, settings, "9999", n=10, model=loaded)
    owned = {e.anime_id for e in cache.library("9999").entries}  # type: ignore[union-attr]
    assert len(recs) == 10 and not {r.anime_id for r in recs} & owned
    assert sum(60 < int(r.anime_id) <= 90 for r in recs[:5]) >= 3  # cluster 2's anime
    # folding in an in-model user reproduces roughly its trained scores' top items
    als = loaded.model
    assert isinstance(als, ALSModel)
    row = loaded.user_index["101"]
    ul = service.user_library(cache, "101", loaded.anime_ids, loaded.weights)
    trained = set(top_n(als.scores(ul.row, np.array([row]))[0].astype(float), 10)[0].tolist())
    folded = set(top_n(als.scores(ul.row)[0].astype(float), 10)[0].tolist())
    assert len(trained & folded) >= 7


def test_save_load_round_trip(cache: Cache, settings: Settings) -> None:
    result = service.train(cache, settings, model="als", params=FAST)
    assert result.to_json()["users"] == N_USERS and "Trained als" in result.summary()
    model, meta, extra = persist.load_model(settings.model_dir, "als", cache_id=cache.cache_id)
    assert isinstance(model, ALSModel)
    assert meta.fingerprint == cache.fingerprint() and meta.params["factors"] == 16
    assert model.user_factors.shape == (N_USERS, 16) and extra["item_counts"].sum() > 0
    assert {"implicit", "numpy"} <= set(meta.versions)
    for kind in ("popularity", "item-knn", "ease", "blend"):
        service.train(cache, settings, model=kind, params=FAST)
        loaded = service.load(cache, settings, kind)
        recs = service.recommend(cache, settings, "102", n=5, model=loaded)
        assert len(recs) == 5
    files = sorted(p.name for p in settings.model_dir.iterdir())
    assert not [f for f in files if f.endswith(".tmp")]
    assert len([f for f in files if f.startswith("als-")]) == 1


def _break(settings: Settings, how: str) -> None:
    meta_file = settings.model_dir / f"{service.DEFAULT_KIND}.json"
    meta = json.loads(meta_file.read_text())
    npz = settings.model_dir / meta["npz"]
    if how == "truncated-npz":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif how == "garbage-json":
        meta_file.write_text("{not json")
    elif how == "truncated-json":
        meta_file.write_text(meta_file.read_text()[:100])
    elif how == "foreign":
        meta["fingerprint"] = "someothercache:3"
        meta_file.write_text(json.dumps(meta))
    elif how == "version":
        meta["format_version"] = 99
        meta_file.write_text(json.dumps(meta))
    elif how == "shape":
        meta["user_ids"] = meta["user_ids"][:-1]
        meta_file.write_text(json.dumps(meta))
    elif how == "pickle":
        # an object array in the npz: must be refused by allow_pickle=False, never unpickled
        np.savez(npz, user_factors=np.array([object()], dtype=object))
        import hashlib

        meta["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
        meta_file.write_text(json.dumps(meta))
    elif how == "missing-npz":
        npz.unlink()


@pytest.mark.parametrize(
    "how",
    [
        "truncated-npz",
        "garbage-json",
        "truncated-json",
        "foreign",
        "version",
        "shape",
        "pickle",
        "missing-npz",
    ],
)
def test_broken_model_is_a_model_error_then_retrained(
    cache: Cache, settings: Settings, how: str
) -> None:
    service.train(cache, settings, params=FAST)
    _break(settings, how)
    service._memo.clear()
    with pytest.raises(ModelError) as err:
        service.load(cache, settings)
    assert "\n" not in str(err.value)
    loaded = service.load_or_train(cache, settings)
    assert loaded.retrained_because and not loaded.stale
    assert len(service.recommend(cache, settings, "103", n=3, model=loaded)) == 3


def test_cancel_from_the_iteration_callback_keeps_previous_model(
    cache: Cache, settings: Settings
) -> None:
    service.train(cache, settings, params=FAST)
    before = (settings.model_dir / f"{service.DEFAULT_KIND}.json").read_text()
    cancel = threading.Event()
    seen: list[tuple[int, int | None]] = []

    def progress(report: FitProgress) -> None:
        seen.append((report.done, report.total))
        if report.done == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        service.train(
            cache,
            settings,
            params=ModelParams(factors=8, iterations=50),
            progress=progress,
            cancel=cancel,
        )
    assert [done for done, _ in seen] == [1, 2] and seen[0][1] >= 50
    assert (settings.model_dir / f"{service.DEFAULT_KIND}.json").read_text() == before


def test_training_loss_is_reported_only_when_tracked(cache: Cache, settings: Settings) -> None:
    """The app plots ALS's loss per iteration; scripts skip the extra pass."""
    for track, check in ((True, lambda x: x is not None and np.isfinite(x)), (False, None.__eq__)):
        losses: list[float | None] = []
        service.train(
            cache,
            settings,
            model="als",
            params=ModelParams(factors=8, iterations=4),
            progress=lambda p, seen=losses: seen.append(p.loss),
            track_loss=track,
        )
        assert len(losses) == 4 and all(check(x) for x in losses), (track, losses)


def test_tuned_params_are_used_unless_overridden(cache: Cache, settings: Settings) -> None:
    assert service.effective_params(cache, settings) == settings.model
    cache.set_state(service.TUNED_STATE_KEY, {"params": {**FAST.__dict__, "factors": 12}})
    assert service.effective_params(cache, settings).factors == 12
    result = service.train(cache, settings)
    assert result.params["factors"] == 12 and result.tuned
    explicit = service.train(cache, settings, params=FAST)
    assert explicit.params["factors"] == 16


def test_spd_inverse_matches_a_general_inverse() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((50, 30))
    gram = x.T @ x + 3.0 * np.eye(30)
    assert np.allclose(_spd_inverse(gram.copy()), np.linalg.inv(gram), atol=1e-10)
    with pytest.raises(ModelError):
        _spd_inverse(-np.eye(3))


def test_ease_lambda_is_relative_to_the_input_scale(cache: Cache) -> None:
    strength = build_interactions(cache, Weights()).strength
    binary = make_model("ease-binary", ModelParams(ease_binary_lambda=40.0))
    bm25 = make_model("ease", ModelParams(ease_lambda=40.0))
    assert isinstance(binary, EASEModel) and isinstance(bm25, EASEModel)
    binary.fit(strength)
    bm25.fit(strength)
    assert binary.confidence.weighting == "binary" and binary.lambda_effective == 40.0
    x = bm25.confidence.apply(strength)[:, bm25.items]
    assert bm25.lambda_effective == pytest.approx(40.0 * float(np.mean(x.data.astype(float) ** 2)))


def test_blend_ends_are_its_parts_and_round_trips(cache: Cache, settings: Settings) -> None:
    strength = build_interactions(cache, Weights()).strength
    rows = strength[:30]
    ranked = {}
    for w in (0.0, 1.0, 0.5):
        blend = make_model("blend", ModelParams(**{**FAST.__dict__, "blend_weight": w}))
        blend.fit(strength)
        assert isinstance(blend, BlendModel)
        s = blend.scores(rows, np.arange(30)).astype(float)
        s[rows.nonzero()] = -np.inf
        ranked[w] = [top_n(r, 10)[0].tolist() for r in s]
        parts = {0.0: blend.ease.scores(rows), 1.0: blend.als.scores(rows, np.arange(30))}
        if w in parts:
            p = parts[w].astype(float)
            p[rows.nonzero()] = -np.inf
            assert ranked[w] == [top_n(r, 10)[0].tolist() for r in p]
    assert ranked[0.5] != ranked[0.0] and ranked[0.5] != ranked[1.0]
    service.train(cache, settings, model="blend", params=FAST)
    service._memo.clear()
    loaded = service.load(cache, settings, "blend")
    assert isinstance(loaded.model, BlendModel) and loaded.model.weight == FAST.blend_weight
    recs = service.recommend(cache, settings, "102", n=5, model=loaded)
    assert len(recs) == 5 and all(r.because for r in recs)
