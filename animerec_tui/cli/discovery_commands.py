"""``similar``, ``anime``, ``hide``, ``unhide`` and ``hidden``: finding anime and saying
"not interested".

ANIME (``similar ANIME``, ``hide USER ANIME...``) is a Kitsu id, a slug or a title, resolved by
:meth:`Core.find_anime` (cache first, Kitsu when online). In a batch (``hide``/``unhide`` with
several ANIME) a bad item never sinks the rest: the others are applied, each bad one gets one
line on stderr (and an error object with ``--json``), and the exit code is then 2.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from animerec_tui.cli.render import (
    emit_json,
    err,
    inert,
    note,
    out,
    subtype_cell,
    table,
    user_json,
)
from animerec_tui.core.errors import AnimerecError, BadInput
from animerec_tui.core.records import Anime, User
from animerec_tui.core.services import Core

if TYPE_CHECKING:
    from animerec_tui.core.recommend.filters import RecommendFilters

EXTRA_ROWS = 5
"""Similar rows asked for beyond ``-n``: room for anime Kitsu turns out to hide."""


def _filters(args: argparse.Namespace) -> RecommendFilters:
    from animerec_tui.core.recommend.filters import RecommendFilters

    return RecommendFilters.parse(
        genres=args.genres or (),
        exclude_genres=args.exclude_genres or (),
        year=args.year,
        episodes=args.episodes,
        statuses=args.statuses or (),
        subtypes=args.subtypes or (),
    )


def _titles(core: Core, ids: list[str]) -> dict[str, str]:
    language = core.settings.display.title_language
    found = core.cache.get_anime(ids)
    return {a: found[a].title_in(language) if a in found else f"anime {a}" for a in ids}


# -- similar ---------------------------------------------------------------------------------


def cmd_similar(core: Core, args: argparse.Namespace) -> int:
    filters = _filters(args)  # bad values exit 2 before any work
    anime = asyncio.run(core.find_anime(args.anime))  # before loading the recommender

    from animerec_tui.cli.model_commands import ensure_model
    from animerec_tui.core.recommend.similar import Similar, refreshed, similar

    loaded = ensure_model(core, not args.json)
    if loaded.retrained_because:
        note(f"trained a new model ({loaded.retrained_because})")

    def ranked() -> Similar:
        return similar(
            core.cache, core.settings, anime.id, args.n + EXTRA_ROWS, filters=filters, model=loaded
        )

    _ensure_relations(core, [anime.id])  # its own franchise first: it is left out of the list
    result = ranked()
    if _ensure_relations(core, [m for r in result.rows for m in r.franchise]):
        result = ranked()  # the candidates' franchises are known now: group them
    shown = [r.anime_id for r in result.rows]
    asyncio.run(core.describe([anime.id, *shown]))  # sample-only anime: slugs and titles
    result = refreshed(result, core.cache, args.n, core.settings.display.title_language)
    names = _titles(core, [anime.id, *result.franchise])
    title = names[anime.id]
    if result.notice:
        note(result.notice)
    if args.json:
        emit_json(
            {
                "anime": {"anime_id": anime.id, "title": title, "franchise": result.franchise},
                "filters": filters.describe(),
                "notice": result.notice,
                "similar": [
                    {
                        "rank": r.rank,
                        "anime_id": r.anime_id,
                        "title": r.title,
                        "score": round(r.score, 6),
                        "franchise": r.franchise,
                        **_details(r.anime),
                    }
                    for r in result.rows
                ],
            }
        )
        return 0
    if not result.rows:
        note(f"No anime like {title} pass the filters ({filters.describe()}).", style="default")
        return 0
    grouped = _titles(core, [m for r in result.rows for m in r.franchise[1:]])
    rows = [
        (
            r.rank,
            r.title,
            subtype_cell(r.anime),
            f"{r.score:.3f}",
            ", ".join(grouped[m] for m in r.franchise[1:]),
        )
        for r in result.rows
    ]
    heading = f"Anime like {title} (id {anime.id})"
    if not filters.empty:
        heading += f" — {filters.describe()}"
    out.print(
        table(
            heading,
            [("#", "right"), "Title", "Type", ("Similarity", "right"), "Same franchise"],
            rows,
        )
    )
    if result.franchise:
        mates = ", ".join(names[m] for m in result.franchise)
        out.print(inert(f"Its own franchise (not listed above): {mates}"))
    return 0


def _ensure_relations(core: Core, anime_ids: list[str]) -> int:
    """Fetch and cache the unknown relations of ``anime_ids`` when Kitsu may be asked
    (``Core.ensure_relations``: 0 offline or when Kitsu cannot be reached)."""
    return asyncio.run(core.ensure_relations(anime_ids))


def _details(anime: Anime | None) -> dict[str, Any]:
    return {
        "subtype": anime.subtype if anime else None,
        "slug": anime.slug if anime else None,
        "url": anime.url if anime else None,
        "start_date": anime.start_date if anime else None,
    }


# -- anime -----------------------------------------------------------------------------------


def cmd_anime(core: Core, args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise BadInput("No title given: animerec anime QUERY (words of a title, a slug or an id).")
    found = asyncio.run(core.search_anime(args.query))
    if args.json:
        emit_json(
            {
                "query": args.query,
                "offline": found.offline,
                "anime": [
                    {
                        "anime_id": a.id,
                        "title": a.title_in(core.settings.display.title_language),
                        **_details(a),
                        "cached": a.id in found.cached,
                    }
                    for a in found
                ],
            }
        )
        return 0
    if found.offline:
        note(f"offline ({found.note or 'Kitsu not asked'}): showing cached anime only")
    if not found:
        note(f"No anime match {args.query!r}.", style="default")
        return 0
    rows = [
        (
            a.id,
            a.title_in(core.settings.display.title_language),
            subtype_cell(a),
            (a.start_date or "")[:4],
            a.slug or "",
            "cached" if a.id in found.cached else "",
        )
        for a in found
    ]
    out.print(
        table(
            f"Anime matching {args.query!r}",
            ["Id", "Title", "Type", "Year", "Slug", "Cache"],
            rows,
        )
    )
    return 0


# -- hide, unhide, hidden --------------------------------------------------------------------


def _user(core: Core, query: str) -> User:
    """USER as the other commands resolve it (fetched first when online and not cached)."""
    return asyncio.run(core.library(query)).library.user


def _resolve_each(core: Core, args: argparse.Namespace) -> tuple[list[Anime], int]:
    """Every ANIME resolved, in order, duplicates once; each bad one reported at once (one
    stderr line, an error object with --json). Returns (anime, worst exit code so far)."""
    found: dict[str, Anime] = {}
    code = 0
    for query in args.anime:
        try:
            anime = asyncio.run(core.find_anime(query))
        except AnimerecError as exc:
            code = max(code, exc.exit_code)
            err.print(inert(f"animerec: {query}: {exc}"), style="red", soft_wrap=True)
            if args.json:
                error = {"message": str(exc), "exit_code": exc.exit_code}
                emit_json({"anime": {"query": query}, "error": error})
            continue
        found.setdefault(anime.id, anime)
    return list(found.values()), code


def _anime_json(core: Core, anime: Anime) -> dict[str, Any]:
    return {"anime_id": anime.id, "title": anime.title_in(core.settings.display.title_language)}


def cmd_hide(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.cache.hidden import hide

    user = _user(core, args.user)
    anime, code = _resolve_each(core, args)
    if not anime:
        return code or 2
    added = hide(core.cache, user.id, [a.id for a in anime], with_franchise=args.franchise)
    if args.json:
        emit_json(
            {
                "user": user_json(user),
                "hidden": [
                    {**_anime_json(core, a), "with_franchise": args.franchise} for a in anime
                ],
                "added": added,
            }
        )
        return code
    what = "and their franchises " if args.franchise else ""
    titles = ", ".join(a.title_in(core.settings.display.title_language) for a in anime)
    out.print(inert(f"Hidden {what}for {user.label}: {titles} ({added} newly hidden)"))
    return code


def cmd_unhide(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.cache.hidden import hidden, unhide

    user = _user(core, args.user)
    anime, code = _resolve_each(core, args)
    if not anime:
        return code or 2
    was_hidden = {h.anime_id for h in hidden(core.cache, user.id)}
    removed = unhide(core.cache, user.id, [a.id for a in anime])
    if args.json:
        emit_json(
            {
                "user": user_json(user),
                "unhidden": [
                    {**_anime_json(core, a), "was_hidden": a.id in was_hidden} for a in anime
                ],
                "removed": removed,
            }
        )
        return code
    language = core.settings.display.title_language
    shown = [a.title_in(language) for a in anime if a.id in was_hidden]
    if shown:
        out.print(inert(f"Shown again for {user.label}: {', '.join(shown)}"))
    for a in anime:
        if a.id not in was_hidden:
            note(f"{a.title_in(language)} (id {a.id}) was not hidden for {user.label}")
    return code


def cmd_hidden(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.cache.hidden import hidden

    user = _user(core, args.user)
    entries = hidden(core.cache, user.id)
    names = _titles(core, [h.anime_id for h in entries])
    if args.json:
        emit_json(
            {
                "user": user_json(user),
                "hidden": [
                    {
                        "anime_id": h.anime_id,
                        "title": names[h.anime_id],
                        "with_franchise": h.with_franchise,
                        "hidden_at": h.hidden_at,
                    }
                    for h in entries
                ],
            }
        )
        return 0
    if not entries:
        note(f"{user.label} has hidden nothing.", style="default")
        return 0
    rows = [
        (
            names[h.anime_id],
            h.anime_id,
            "yes" if h.with_franchise else "",
            h.hidden_at.replace("T", " ").removesuffix("Z")[:16],
        )
        for h in entries
    ]
    out.print(
        table(
            f"Hidden for {user.label} ({len(entries)})",
            ["Title", "Id", "Whole franchise", "Hidden at (UTC)"],
            rows,
        )
    )
    return 0


COMMANDS: dict[str, Callable[[Core, argparse.Namespace], int]] = {
    "similar": cmd_similar,
    "anime": cmd_anime,
    "hide": cmd_hide,
    "unhide": cmd_unhide,
    "hidden": cmd_hidden,
}
