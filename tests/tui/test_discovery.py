"""The app's discovery features (issue 14): franchises once and a "continue" list, the filter
panel, the niche dial, "not interested", similar anime, an empty library started from liked
picks, and the keys for all of it in the footer and the command palette.

Everything runs offline on the bundled sample with the small trained model; each test presses
the keys a user would and reads the tables and labels the screen shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.tui import (
    SIZE,
    RecordingApp,
    cell_texts,
    make_app,
    sample_query,
    settings_for,
    settle,
    wait_for_screen,
    wait_until,
)
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, SelectionList, Static

from animerec_tui.core.records import Library, User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings


def _status(app: RecordingApp) -> str:
    return str(app.screen.query_one("#recs-status", Label).render())


def _detail(app: RecordingApp) -> str:
    return str(app.screen.query_one("#detail", Static).render())


def _ids(table: DataTable[Any]) -> list[str]:
    return [str(key.value) for key in table.rows]


def _footer_keys(app: RecordingApp) -> set[str]:
    return {
        key
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def _open_recommendations(app: RecordingApp, pilot: Pilot[Any], user: User) -> DataTable[Any]:
    """Push the recommendations of ``user`` (the saved model) and wait for the first list."""
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    core = app.session.core
    model = app.session.model or service.load(core.cache, core.settings)
    app.session.model = model
    await app.push_screen(RecommendationsScreen(app.session, user, model))
    await wait_for_screen(pilot, "recommendations")
    table = app.screen.query_one("#recs", DataTable)
    await wait_until(pilot, lambda: table.row_count > 0, what="recommendations")
    await settle(pilot)
    return table


def _sample_user(core: Core) -> User:
    user = core.cache.get_user(sample_query(core))
    assert user is not None
    return user


async def _relisted(pilot: Pilot[Any], table: DataTable[Any], before: list[str]) -> None:
    """Wait until the table lists something else than ``before`` and the workers are done."""
    await wait_until(pilot, lambda: _ids(table) != before, what="a new list")
    await settle(pilot)


# -- similar anime ----------------------------------------------------------------------------


async def test_similar_key_from_recommendations_and_library_and_back(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.tui.screens.library import LibraryScreen

    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        first = _ids(recs)[0]
        await pilot.press("l")
        await wait_for_screen(pilot, "similar")
        similar = app.screen.query_one("#similar", DataTable)
        await wait_until(pilot, lambda: similar.row_count > 0, what="similar anime")
        await settle(pilot)
        assert first not in _ids(similar)  # never the anime itself
        assert len(set(_ids(similar))) == similar.row_count >= 10
        scores = [float(s) for s in cell_texts(similar, "score")]
        assert scores == sorted(scores, reverse=True)
        title = cell_texts(recs, "title")[0]
        status = str(app.screen.query_one("#similar-status", Label).render())
        assert status.startswith(f"{similar.row_count} anime like {title.split('  ')[0]}")
        await pilot.press("escape")
        await wait_for_screen(pilot, "recommendations")

        await app.push_screen(LibraryScreen(app.session, user))
        entries = app.screen.query_one("#entries", DataTable)
        await wait_until(pilot, lambda: entries.row_count > 0, what="library")
        await settle(pilot)
        watched = _ids(entries)[0]
        await pilot.press("l")
        await wait_for_screen(pilot, "similar")
        similar = app.screen.query_one("#similar", DataTable)
        await wait_until(pilot, lambda: similar.row_count > 0, what="similar anime")
        assert watched not in _ids(similar)
        await pilot.press("escape")
        await wait_for_screen(pilot, "library")


async def test_similar_to_an_anime_the_model_does_not_know_says_why(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.records import Anime, LibraryEntry
    from animerec_tui.tui.screens.library import LibraryScreen

    core = open_core(settings_for(trained_dir))
    user = User(id="4244", name="early")
    brand_new = Anime(id="999999", title="A Show Nobody Listed Yet")
    core.cache.save_library(
        Library(
            user, [LibraryEntry("4244", "999999", "current", id="e1")], [], {"999999": brand_new}
        ),
        synced_at="2026-01-01T00:00:00Z",
    )
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(LibraryScreen(app.session, user))
        entries = app.screen.query_one("#entries", DataTable)
        await wait_until(pilot, lambda: entries.row_count == 1, what="library")
        await pilot.press("l")
        await wait_for_screen(pilot, "similar")
        status = app.screen.query_one("#similar-status", Label)
        await wait_until(pilot, lambda: "No similar anime" in str(status.render()), what="why")
        assert "is not in the model" in str(status.render())
        assert any("is not in the model" in m for m in app.messages("error"))
        assert not any("bug" in t for _, t, _ in app.seen)
        await pilot.press("escape")
        await wait_for_screen(pilot, "library")


# -- franchises --------------------------------------------------------------------------------


async def test_franchise_shown_once_later_entries_in_continue_and_no_data_notice(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.cache.relations import save_relations
    from animerec_tui.core.kitsu.relations import Relation

    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        notice = app.screen.query_one("#recs-notice", Label)
        assert notice.display and "no franchise data" in str(notice.render())
        assert not app.screen.query_one("#continue-box").display
        before = _ids(recs)
        await pilot.press("escape")

        # Two of the top titles are one franchise; a title the user completed has a sequel
        # among the candidates.
        first, second, sequel = before[0], before[1], before[5]
        library = core.cache.library(user.id)
        assert library is not None
        watched = next(e.anime_id for e in library.entries if e.status == "completed")
        save_relations(
            core.cache,
            [first, second, watched, sequel],
            [
                Relation(first, second, "sequel"),
                Relation(second, first, "prequel"),
                Relation(watched, sequel, "sequel"),
                Relation(sequel, watched, "prequel"),
            ],
            fetched_at="2026-01-01T00:00:00Z",
        )
        recs = await _open_recommendations(app, pilot, user)
        shown = _ids(recs)
        assert not app.screen.query_one("#recs-notice", Label).display
        entry = min(first, second, key=int)  # no start dates in the sample: by Kitsu id
        other = second if entry == first else first
        assert entry in shown and other not in shown
        row = shown.index(entry)
        assert cell_texts(recs, "title")[row].endswith("+1 in franchise")
        later = app.screen.query_one("#continue", DataTable)
        assert app.screen.query_one("#continue-box").display
        assert sequel in _ids(later) and sequel not in shown
        recs.move_cursor(row=row)
        await pilot.pause()
        other_title = core.cache.get_anime([other])[other].display_title
        assert f"Same franchise: {other_title}" in _detail(app)


async def test_online_the_relations_are_fetched_and_the_list_grouped(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.cache.relations import relations_known
    from animerec_tui.fakekitsu import Dataset, FakeKitsu
    from animerec_tui.fakekitsu.dataset import add_demo_franchises, sample_catalogue

    ds = Dataset(seed=9)
    ds.add_catalogue(sample_catalogue(10_000))
    for record in ds.anime.values():
        record.update(ageRating="PG", nsfw=False)
    add_demo_franchises(ds)
    with FakeKitsu(ds) as kitsu:
        core = open_core(settings_for(trained_dir, offline=False, api_url=kitsu.url))
        user = _sample_user(core)
        app = make_app(core)
        async with app.run_test(size=SIZE) as pilot:
            from animerec_tui.core.recommend import service
            from animerec_tui.tui.screens.recommendations import RecommendationsScreen

            model = service.load(core.cache, core.settings)
            await app.push_screen(RecommendationsScreen(app.session, user, model))
            recs = app.screen.query_one("#recs", DataTable)
            await wait_until(pilot, lambda: recs.row_count > 0, what="recommendations")
            notice = app.screen.query_one("#recs-notice", Label)
            await wait_until(
                pilot, lambda: "no franchise data" not in str(notice.render()), timeout=60
            )
            await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))
            await pilot.pause()
            assert relations_known(core.cache, _ids(recs)) == set(_ids(recs))
            assert not any("bug" in t for _, t, _ in app.seen)


# -- filters -------------------------------------------------------------------------------------


async def test_filter_panel_refuses_bad_input_inline_then_combined_filters_hold(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        before = _ids(recs)
        await pilot.press("f")
        await wait_for_screen(pilot, "filters")
        await pilot.press(*"comedy", "tab", *"horror", "tab", "tab", *"12-x", "enter")
        await pilot.pause()
        assert app.screen.id == "filters"  # refused: still open, nothing applied
        error = str(app.screen.query_one("#filter-error", Label).render())
        assert error.startswith("Episodes '12-x' is not a range")
        assert app.screen.query_one("#filter-episodes", Input).has_class("-refused")
        assert app.session.filters is None

        await pilot.press(*["backspace"] * 4, *"1-30")
        types = app.screen.query_one("#filter-subtypes", SelectionList)
        types.focus()
        await pilot.press("home", "space")  # the first type: TV
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, "recommendations")
        await _relisted(pilot, recs, before)
        filters = app.session.filters
        assert filters is not None
        assert (filters.genres, filters.exclude_genres) == (("comedy",), ("horror",))
        assert (filters.episodes, filters.subtypes) == ((1, 30), ("TV",))
        assert recs.row_count == 20
        assert set(cell_texts(recs, "type")) == {"TV"}
        assert all(1 <= int(e) <= 30 for e in cell_texts(recs, "episodes"))
        for anime in core.cache.get_anime(_ids(recs)).values():
            genres = {g.casefold() for g in anime.genres}
            assert "comedy" in genres and "horror" not in genres
        assert "genres comedy; not horror; episodes 1-30; TV" in _status(app)

        # kept for the session: the next list opened is filtered the same way
        shown = _ids(recs)
        await pilot.press("escape")
        recs = await _open_recommendations(app, pilot, user)
        assert _ids(recs) == shown
        await pilot.press("f")  # the panel opens on what is applied; ctrl+r clears it
        await wait_for_screen(pilot, "filters")
        assert app.screen.query_one("#filter-genres", Input).value == "comedy"
        await pilot.press("ctrl+r")
        await wait_for_screen(pilot, "recommendations")
        await _relisted(pilot, recs, shown)
        assert app.session.filters is not None and app.session.filters.empty
        assert _ids(recs) == before


# -- the niche dial ------------------------------------------------------------------------------


async def test_niche_key_steps_through_the_dial_and_reranks(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.recommend import service
    from animerec_tui.core.recommend.niche import DIAL_STEPS

    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        assert "mainstream" in _status(app)
        mainstream = _ids(recs)
        step = DIAL_STEPS[1]
        await pilot.press("n")
        await _relisted(pilot, recs, mainstream)
        assert app.session.niche == step
        assert f"niche {step:g}" in _status(app)
        expected = service.recommend(
            core.cache, core.settings, user.id, n=20, niche=step, model=app.session.model
        )
        assert _ids(recs) == [r.anime_id for r in expected]
        for _ in DIAL_STEPS[1:]:  # past the last step: back to mainstream
            await pilot.press("n")
        await wait_until(pilot, lambda: app.session.niche == DIAL_STEPS[0])
        await _relisted(pilot, recs, [r.anime_id for r in expected])
        assert "mainstream" in _status(app)
        assert _ids(recs) == mainstream


# -- not interested ------------------------------------------------------------------------------


async def test_x_hides_the_row_for_good_and_reranks_at_once(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.cache.hidden import hidden
    from animerec_tui.core.recommend import service

    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        model = app.session.model
        before = _ids(recs)
        recs.move_cursor(row=2)
        await pilot.press("x")
        await _relisted(pilot, recs, before)
        after = _ids(recs)
        assert before[2] not in after and len(after) == 20
        assert recs.cursor_row == 2  # on the row that moved up, as in a mail reader
        expected = service.recommend(core.cache, core.settings, user.id, n=20, model=model)
        assert after == [r.anime_id for r in expected]  # the core's re-ranked list, refilled
        assert [h.anime_id for h in hidden(core.cache, user.id)] == [before[2]]
        title = core.cache.get_anime([before[2]])[before[2]].display_title
        assert f"not interested: {title} (u takes it back)" in _status(app)
        await pilot.press("escape")
        recs = await _open_recommendations(app, pilot, user)  # stored: never again
        assert _ids(recs) == after

        recs.move_cursor(row=0)
        await pilot.press("x")
        await _relisted(pilot, recs, after)
        assert len(hidden(core.cache, user.id)) == 2
        fewer = _ids(recs)
        await pilot.press("u")  # takes back the last one of this screen
        await _relisted(pilot, recs, fewer)
        assert _ids(recs) == after
        assert [h.anime_id for h in hidden(core.cache, user.id)] == [before[2]]


async def test_x_then_u_or_x_again_at_once_store_what_the_keys_said(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """Keys faster than the re-rank: ``x`` then ``u`` before the next frame leaves nothing
    hidden and the list as it was; ``x`` twice hides both. The list drawn at once is the one
    the core gives, and an older re-rank never draws over a newer mark."""
    from textual import events

    from animerec_tui.core.cache.hidden import hidden
    from animerec_tui.core.recommend import service

    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        model = app.session.model
        before = _ids(recs)
        app.post_message(events.Key("x", "x"))
        app.post_message(events.Key("u", "u"))  # both handled before the re-rank starts
        await wait_until(pilot, lambda: not app.screen.hidden_here, what="u handled")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)
        assert hidden(core.cache, user.id) == []
        assert _ids(recs) == before

        app.post_message(events.Key("x", "x"))
        app.post_message(events.Key("x", "x"))  # the row that moved up to the cursor
        await wait_until(pilot, lambda: len(app.screen.hidden_here) == 2, what="two x")  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)
        assert {h.anime_id for h in hidden(core.cache, user.id)} == set(before[:2])
        expected = service.recommend(core.cache, core.settings, user.id, n=20, model=model)
        assert _ids(recs) == [r.anime_id for r in expected]


# -- empty library, liked picks --------------------------------------------------------------


async def test_empty_library_is_honest_then_starts_from_liked_picks(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.cache.picks import liked

    core = open_core(settings_for(trained_dir))
    user = User(id="4243", name="newbie")
    core.cache.save_library(Library(user, [], [], {}), synced_at="2026-01-01T00:00:00Z")
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        recs = await _open_recommendations(app, pilot, user)
        assert _status(app).startswith("Not personal")
        assert all(s.endswith("%") for s in cell_texts(recs, "score"))
        assert not any(cell_texts(recs, "because"))
        detail = _detail(app)
        assert "Because you watched" not in detail and "% match" in detail
        assert "Press a to pick a few titles you like" in detail
        assert "a" in _footer_keys(app)
        popular = _ids(recs)

        await pilot.press("a")
        await wait_for_screen(pilot, "picks")
        await pilot.press(*"cowboy bebop", "enter")
        found = app.screen.query_one("#picks-results", DataTable)
        await wait_until(pilot, lambda: found.row_count > 0, what="anime search")
        assert cell_texts(found, "title")[0] == "Cowboy Bebop"
        await wait_until(pilot, lambda: app.focused is found, what="the results focused")
        await pilot.press("enter")  # like the highlighted one
        await wait_until(pilot, lambda: "liked" in cell_texts(found, "liked"), what="liked")
        assert "Liked: Cowboy Bebop" in str(app.screen.query_one("#picks-liked", Static).render())
        assert liked(core.cache, user.id)
        await pilot.press("escape")
        await wait_for_screen(pilot, "recommendations")
        await _relisted(pilot, recs, popular)
        assert "1" not in _ids(recs)  # the liked anime itself is not recommended
        assert not _status(app).startswith("Not personal")


# -- keys ------------------------------------------------------------------------------------


async def test_discovery_keys_in_footer_and_command_palette(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings_for(trained_dir))
    user = _sample_user(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await _open_recommendations(app, pilot, user)
        assert {"f", "n", "x", "l"} <= _footer_keys(app)
        assert "a" not in _footer_keys(app)  # picking titles: for an empty or tiny library
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Filters", "Niche", "Not interested", "Like this", "Pick titles"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"filters", "enter")
        await wait_for_screen(pilot, "filters")
        await pilot.press("escape")  # cancelled: nothing changes
        await wait_for_screen(pilot, "recommendations")
        assert app.session.filters is None
