"""Per-user "not interested" store: hide/unhide/list, idempotent, per user, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.hidden import Hidden, hidden, hide, unhide
from animerec_tui.core.errors import BadInput, NotCached
from animerec_tui.core.records import User


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    with Cache(tmp_path / "c" / "animerec.sqlite3") as c:
        c.save_users([User("42", "ann"), User("43", "bob")])
        yield c


def test_hide_is_idempotent_and_per_user(cache: Cache) -> None:
    before = cache.fingerprint()
    assert hide(cache, "42", ["1", "2", "2"], at="2026-01-01T00:00:00Z") == 2
    assert hide(cache, "42", ["2", "3"], with_franchise=True, at="2026-01-02T00:00:00Z") == 1
    assert hide(cache, "42", ["2"], at="2026-01-03T00:00:00Z") == 0  # never narrows
    assert hidden(cache, "42") == [
        Hidden("3", True, "2026-01-02T00:00:00Z"),
        Hidden("1", False, "2026-01-01T00:00:00Z"),
        Hidden("2", True, "2026-01-01T00:00:00Z"),  # first hidden_at kept, widened
    ]
    assert hidden(cache, "43") == [] and hidden(cache, "nobody") == []
    assert cache.fingerprint() == before  # not an interaction: models stay fresh


def test_unhide_counts_only_what_was_hidden(cache: Cache) -> None:
    hide(cache, "42", ["1", "2"])
    assert unhide(cache, "42", ["2", "9"]) == 1
    assert unhide(cache, "42", ["2"]) == 0
    assert [h.anime_id for h in hidden(cache, "42")] == ["1"]
    assert hidden(cache, "42")[0].hidden_at.endswith("Z")


def test_bad_ids_and_unknown_users_write_nothing(cache: Cache) -> None:
    with pytest.raises(BadInput, match="'cowboy-bebop'") as err:
        hide(cache, "42", ["1", "cowboy-bebop"])
    assert err.value.exit_code == 2
    assert hidden(cache, "42") == []
    with pytest.raises(NotCached):
        hide(cache, "99", ["1"])
    with pytest.raises(NotCached):
        unhide(cache, "99", ["1"])
