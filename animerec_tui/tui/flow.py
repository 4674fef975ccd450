"""The steps of the App's flows: open a user (library, then model, then recommendations),
open a library, refresh one, train on request.

Each step pushes the modal it needs (fetch, train) and says why it cannot go on in a
notification. They run on the App (``push_screen_wait`` only inside the App's flow worker)
with the session the App hands every screen; screen modules are imported here, when a flow
starts, so start-up imports none of the heavy ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from animerec_tui.core.records import User
from animerec_tui.tui.messages import ConnectivityChanged, LibraryRefreshed
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import clean

if TYPE_CHECKING:
    from animerec_tui.core.recommend.service import LoadedModel
    from animerec_tui.core.services import FetchResult

NOT_ASKED = "Kitsu is not asked again yet (ctrl+r on the search screen retries now)"


async def ensure_library(app: App[int], session: Session, user: User) -> bool:
    """Fetch the library with a progress modal unless the cache already has it."""
    from animerec_tui.tui.screens.progress import FetchScreen

    if session.core.cache.has_library(user.id):
        return True
    connectivity = session.connectivity
    if not connectivity.may_ask():  # offline mode, or cooling down: no new wait
        status = connectivity.status()
        if status.state == "cooling":
            app.post_message(ConnectivityChanged.unreachable(connectivity, status.describe()))
            why = NOT_ASKED
        else:
            why = "offline mode is on"
        app.notify(
            clean(f"{user.label} is not in the cache, and {why}."), severity="error", markup=False
        )
        return False
    return await app.push_screen_wait(FetchScreen(session, user)) is not None


async def ensure_model(app: App[int], session: Session) -> LoadedModel | None:
    """The session's model; the first time, load the saved one or train one (a modal)."""
    from animerec_tui.tui.screens.train import TrainScreen

    if session.model is None:
        session.model = await app.push_screen_wait(TrainScreen(session, auto=True))
    return session.model


async def open_recommendations(app: App[int], session: Session, user: User) -> None:
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    if not await ensure_library(app, session, user):
        return
    model = await ensure_model(app, session)
    if model is not None:
        await app.push_screen(RecommendationsScreen(session, user, model))


async def open_library(app: App[int], session: Session, user: User) -> None:
    from animerec_tui.tui.screens.library import LibraryScreen

    if await ensure_library(app, session, user):
        await app.push_screen(LibraryScreen(session, user))


def refresh_library(app: App[int], session: Session, user: User) -> None:
    """Re-fetch a cached user's library (incrementally); the screen shown when asked then gets
    :class:`LibraryRefreshed` and reloads."""
    from animerec_tui.tui.screens.progress import FetchScreen

    if not user.is_sample:
        session.retry_kitsu()
    if session.core.offline or user.is_sample:
        why = "a sample user is never fetched" if user.is_sample else "offline mode is on"
        app.notify(f"Nothing to refresh: {why}.", severity="warning")
        return
    asking = app.screen

    def done(result: FetchResult | None) -> None:
        if result is None:
            return  # cancelled or failed: already said in a notification
        if result.offline:  # Kitsu failed and the core served the cache instead
            app.notify(
                clean(
                    f"Could not refresh {user.label}: Kitsu cannot be reached. "
                    "The cached library is unchanged."
                ),
                severity="warning",
                markup=False,
            )
            return
        app.notify(
            f"{result.entries:,} entries, {result.favorites} favorites "
            f"({result.mode}, {result.requests} requests, {result.seconds:.1f}s)."
        )
        asking.post_message(LibraryRefreshed(result))

    app.push_screen(FetchScreen(session, user, refresh=True), done)


def train(app: App[int], session: Session) -> None:
    """F3: the training modal; a model it loads becomes the session's, and the
    recommendations shown (if any) use it at once."""
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen
    from animerec_tui.tui.screens.train import TrainScreen

    def trained(loaded: LoadedModel | None) -> None:
        if loaded is None:
            return
        session.model = loaded
        if isinstance(app.screen, RecommendationsScreen):
            app.screen.use_model(loaded)

    app.push_screen(TrainScreen(session), trained)
