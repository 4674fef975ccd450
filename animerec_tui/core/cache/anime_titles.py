"""Finding cached anime by slug or title (table ``anime``): what ``animerec similar ANIME``,
``hide`` and ``anime QUERY`` read before (or instead of) asking Kitsu.

Titles are matched case-insensitively (SQLite ``LIKE`` folds ASCII only; :func:`fold` is the
one normalisation the callers compare with) against ``title`` (Kitsu's ``canonicalTitle``)
and every value of ``titles`` (the JSON object Kitsu sends: ``en``, ``en_jp``, ``ja_jp``...).
Adult anime (R18, nsfw, withheld) are never returned: a title search must not show them.
"""

from __future__ import annotations

from animerec_tui.core.cache.db import Cache
from animerec_tui.core.cache.rows import anime_from_row
from animerec_tui.core.records import Anime

_VISIBLE = "nsfw = 0 AND withheld = 0 AND COALESCE(age_rating, '') != 'R18'"


def fold(text: str) -> str:
    """Case- and space-folded text (``"  Code  GEASS"`` -> ``"code geass"``)."""
    return " ".join(text.casefold().split())


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def anime_by_slug(cache: Cache, slug: str) -> Anime | None:
    """The cached, not adult anime whose Kitsu slug is ``slug`` (any case), or None."""
    rows = cache.query(
        f"SELECT * FROM anime WHERE slug = ? COLLATE NOCASE AND {_VISIBLE} ORDER BY id LIMIT 1",
        (slug.strip(),),
    )
    return anime_from_row(rows[0]) if rows else None


def anime_titled(cache: Cache, text: str, limit: int = 200) -> list[Anime]:
    """Cached, not adult anime with every word of ``text`` in one of their titles or their
    slug, by id; at most ``limit`` (the SQL prefilter is on the first word, the rest is
    checked on the records). [] for blank text."""
    words = fold(text).split()
    if not words:
        return []
    if words[0].isascii():  # LIKE folds ASCII case only: prefilter on an ASCII word
        first = _like(words[0])
        rows = cache.query(
            f"""SELECT * FROM anime
                WHERE (title LIKE ? ESCAPE '\\' OR titles LIKE ? ESCAPE '\\'
                       OR slug LIKE ? ESCAPE '\\') AND {_VISIBLE}
                ORDER BY id""",
            (first, first, first),
        )
    else:
        rows = cache.query(f"SELECT * FROM anime WHERE {_VISIBLE} ORDER BY id")
    out: list[Anime] = []
    for row in rows:
        anime = anime_from_row(row)
        names = (anime.title or "", *anime.titles.values(), anime.slug or "")
        hay = " ".join(fold(t) for t in names)
        if all(w in hay for w in words):
            out.append(anime)
            if len(out) >= limit:
                break
    return out
