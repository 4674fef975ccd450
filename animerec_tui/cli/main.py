"""The CLI face: parses ``animerec``'s options and runs one command over the core.

With no command it starts the app the launcher (:mod:`animerec_tui.launcher`) hands it.

Every failure becomes one line on stderr and an exit code (0 ok, 1 failure, 2 bad input):
never a traceback. Heavy imports (numpy, implicit, Rich tables) wait until a command needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from animerec_tui import __version__

if TYPE_CHECKING:
    from animerec_tui.core.settings import Settings

DESCRIPTION = """\
Anime recommendations for Kitsu users, in the terminal.

With no command, animerec opens the interactive app. Every command works offline from the local
cache (a bundled sample population is there from the start); --json prints one JSON object
per line for scripts.
"""

EPILOG = """\
settings (environment):
  ANIMEREC_CACHE_DIR   cache folder (default: the checkout's cache/, else the user cache dir)
  ANIMEREC_API_URL     Kitsu API base (default: https://kitsu.app/api/edge)
  ANIMEREC_OFFLINE=1   never touch the network (same as --offline)
  ANIMEREC_SETTINGS    settings file (default: <cache dir>/settings.toml)

USER is a Kitsu numeric id, a slug, a name, or a sample user's id (sample:KEY) or name
(sample-KEY). --json, --offline and --cache-dir mean the same before or after the command.
Exit codes: 0 ok, 1 failure (e.g. Kitsu unreachable and nothing cached), 2 bad input (unknown
or ambiguous user, invalid option or setting). fetch, library and recommend with several users
print every user that worked and one error line per user that did not (an error object with
--json); the exit code is then the worst one.
"""

SUBTYPES = ("TV", "movie", "OVA", "ONA", "special", "music")
"""Kitsu's anime subtypes, as ``--type`` accepts them (any letter case)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"animerec: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _setting(section: str, key: str, kind: type[int] | type[float]) -> Callable[[str], Any]:
    """An option type checked against the settings file's range for ``section.key``."""

    def parse(text: str) -> int | float:
        from animerec_tui.core.settings import RANGES

        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        allowed = RANGES[section][key]
        if not allowed.allows(value):
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range (allowed: {allowed.describe()}, as {section}.{key})"
            )
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (allowed: 0 to 1)")
    return value


def _subtype(text: str) -> str:
    for name in SUBTYPES:
        if text.strip().lower() == name.lower():
            return name
    raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from {', '.join(SUBTYPES)})")


def _global_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """``--json``, ``--offline``, ``--cache-dir`` and ``--version``, before or after the command.

    The command's copies default to ``SUPPRESS``, so an option given before the command is not
    overwritten by the command parser's default (argparse copies sub-parser defaults over the
    namespace), while one given after it is set there.
    """
    flag = default if default is argparse.SUPPRESS else False
    path = default if default is argparse.SUPPRESS else None
    parser.add_argument("--version", action="version", version=f"animerec {__version__}")
    parser.add_argument(
        "--json", action="store_true", default=flag, help="print JSON (one object per line)"
    )
    parser.add_argument(
        "--offline", action="store_true", default=flag, help="use only the local cache"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=path, metavar="DIR", help="cache folder to use"
    )


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)

    parser = _Parser(
        prog="animerec",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = add("search", "Find Kitsu users by id, slug, name or fuzzy query (cached users too).")
    p.add_argument("query", metavar="QUERY")

    p = add("fetch", "Fetch and cache each user's anime library entries and anime favourites.")
    p.add_argument("users", nargs="+", metavar="USER")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="sync only what changed since the last fetch (falls back to a full fetch "
        "when entries were removed)",
    )

    p = add(
        "library", "Show cached users' libraries (each fetched first when online and not cached)."
    )
    p.add_argument("users", nargs="+", metavar="USER")

    p = add("crawl", "Grow the training population from Kitsu, politely and resumably.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--around", metavar="USER", help="people who share this user's anime")
    mode.add_argument("--random", action="store_true", help="a uniform sample of Kitsu users")
    p.add_argument(
        "--max-users",
        type=_positive,
        default=100,
        metavar="N",
        help="new users to cache (default 100)",
    )

    p = add("train", "Train the recommender (ALS + EASE blend) on the cached population; save it.")
    p.add_argument("--factors", type=_setting("model", "factors", int), help="latent factors")
    p.add_argument(
        "--regularization",
        type=_setting("model", "regularization", float),
        help="L2 regularization",
    )
    p.add_argument("--alpha", type=_setting("model", "alpha", float), help="confidence scaling")
    p.add_argument("--iterations", type=_setting("model", "iterations", int), help="ALS iterations")
    p.add_argument(
        "--model",
        choices=("blend", "als", "ease", "item-knn", "popularity"),
        default=None,
        help="model to train (default blend: ALS and EASE, per-user z-scored scores mixed)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="search factors/regularization/alpha/iterations on a validation split "
        "and save the best as this cache's default",
    )

    p = add("recommend", "Ranked recommendations (fetches an uncached user; trains when needed).")
    p.add_argument("users", nargs="+", metavar="USER")
    p.add_argument("-n", type=_positive, default=10, metavar="N", help="how many (default 10)")
    p.add_argument(
        "--type",
        dest="subtypes",
        action="append",
        type=_subtype,
        metavar="SUBTYPE",
        help="only this subtype (TV, movie, OVA, ONA, special, music); repeatable",
    )
    p.add_argument(
        "--genre",
        dest="genres",
        action="append",
        default=[],
        metavar="GENRE",
        help="only anime with this genre/category (repeatable: all of them)",
    )
    p.add_argument(
        "--exclude-genre",
        dest="exclude_genres",
        action="append",
        default=[],
        metavar="GENRE",
        help="no anime with this genre/category (repeatable)",
    )
    p.add_argument("--year", metavar="FROM-TO", help="start year range (2000-2010, 2015-, -1999)")
    p.add_argument("--episodes", metavar="FROM-TO", help="episode count range (e.g. 1-13)")
    p.add_argument(
        "--status",
        dest="statuses",
        action="append",
        default=[],
        metavar="STATUS",
        help="airing status: current, finished, upcoming, unreleased, tba (repeatable); an "
        "anime whose status Kitsu has not told us (the bundled sample's) does not pass",
    )
    p.add_argument(
        "--niche",
        type=_fraction,
        default=0.0,
        metavar="X",
        help="0 (default) = as ranked, 1 = least mainstream: discounts popularity",
    )
    p.add_argument(
        "--continue",
        dest="continue_",
        action="store_true",
        help="later entries of franchises you have started, instead of discovery",
    )
    p.add_argument(
        "--all-entries", action="store_true", help="no franchise grouping: every entry its own row"
    )
    p.add_argument("--include-adult", action="store_true", help="do not hide R18/nsfw titles")

    p = add(
        "evaluate",
        "Held-out evaluation: the default model beside tuned EASE (BM25, binary), ALS, "
        "item-kNN and popularity.",
    )
    p.add_argument("-k", type=_positive, default=10, metavar="K", help="cut-off K (default 10)")
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        choices=("blend", "als", "ease", "ease-binary", "item-knn", "popularity"),
        help="evaluate only this model (repeatable; default: every model, the default first)",
    )

    add("stats", "The cached population: users, anime, entries, status mix, activity segments.")
    _discovery_parsers(sub, common)
    return parser


# -- similar, anime, hide, unhide, hidden: finding anime and "not interested" -----------------

ANIME_HELP = (
    "a Kitsu anime id, a slug or a title (any case; an ambiguous title exits 2 listing the "
    "matches with their ids)"
)


def _discovery_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The parsers of ``similar``, ``anime``, ``hide``, ``unhide`` and ``hidden``, each with
    examples in its ``--help``."""

    def add(name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog="examples:\n" + examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        return parser

    p = add(
        "similar",
        "Anime most like ANIME: nearest by the model's item factors (cosine), each franchise "
        "once, the anime's own franchise listed apart, adult titles never shown.",
        "  animerec similar 1376                  by Kitsu id\n"
        "  animerec similar death-note -n 20      by slug, 20 rows\n"
        '  animerec similar "Cowboy Bebop" --type movie --year 2000-\n'
        "  animerec similar naruto --json         one JSON object\n",
    )
    p.add_argument("anime", metavar="ANIME", help=ANIME_HELP)
    p.add_argument("-n", type=_positive, default=10, metavar="N", help="how many (default 10)")
    p.add_argument(
        "--type",
        dest="subtypes",
        action="append",
        metavar="TYPE",
        help="only this type (TV, movie, OVA, ONA, special, music); repeatable",
    )
    p.add_argument(
        "--genre", dest="genres", action="append", metavar="G", help="must have G; repeatable"
    )
    p.add_argument(
        "--exclude-genre",
        dest="exclude_genres",
        action="append",
        metavar="G",
        help="must not have G; repeatable",
    )
    p.add_argument("--year", metavar="FROM-TO", help="start year range (2000-2010, 2000-, -1999)")
    p.add_argument("--episodes", metavar="FROM-TO", help="episode count range (e.g. 1-13)")
    p.add_argument(
        "--status",
        dest="statuses",
        action="append",
        metavar="S",
        help="airing status (current, finished, upcoming, unreleased, tba); repeatable",
    )

    p = add(
        "anime",
        "Find anime by title: the cache first, then Kitsu's title search when online "
        "(what Kitsu finds is cached). Offline, only cached anime are shown.",
        '  animerec anime "cowboy bebop"\n  animerec anime fate --json\n',
    )
    p.add_argument("query", metavar="QUERY", help="words of a title, a slug or a Kitsu id")

    p = add(
        "hide",
        "Not interested: never recommend these anime to USER again. A bad ANIME never stops "
        "the others (one error line each; exit 2 if any was bad).",
        "  animerec hide alice 1376 death-note\n"
        '  animerec hide alice "Code Geass" --franchise     every season and film too\n',
    )
    p.add_argument("user", metavar="USER")
    p.add_argument("anime", nargs="+", metavar="ANIME", help=ANIME_HELP)
    p.add_argument(
        "--franchise",
        action="store_true",
        help="hide each anime's whole franchise too (sequels, prequels, side stories)",
    )

    p = add(
        "unhide",
        "Recommend these anime to USER again (undo 'hide'; a bad ANIME never stops the others).",
        "  animerec unhide alice 1376\n",
    )
    p.add_argument("user", metavar="USER")
    p.add_argument("anime", nargs="+", metavar="ANIME", help=ANIME_HELP)

    p = add(
        "hidden",
        "The anime USER has hidden ('not interested'), most recent first, with when.",
        "  animerec hidden alice\n  animerec hidden alice --json\n",
    )
    p.add_argument("user", metavar="USER")


NUMERICAL = ("LinAlgError", "ModelFitError", "FloatingPointError")
"""Numerical failures (numpy/scipy, implicit) by class name: the core guards what it can
predict; these are the last line, reported in one line, never as "unexpected"."""


def _tolerant_streams() -> None:
    """Text the terminal's encoding cannot show becomes ``?`` instead of UnicodeEncodeError
    (``PYTHONIOENCODING=cp1252``, a latin-1 locale); ``--json`` escapes it exactly instead
    (see :func:`animerec_tui.cli.render.emit_json`)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            with contextlib.suppress(ValueError, OSError):  # closed or detached: leave it
                reconfigure(errors="replace")


def _has_terminal() -> bool:
    return all(getattr(s, "isatty", lambda: False)() for s in (sys.stdin, sys.stdout))


def main(argv: Sequence[str] | None = None, *, app: Callable[[Settings], int] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code: 0 ok,
    1 failure, 2 bad input, 130 interrupted. With no command, ``app`` (the launcher's way to
    open the TUI) runs when there is a terminal; without ``app`` or a terminal the help is
    printed and the exit code is 2."""
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None and (app is None or not _has_terminal()):
        # the app draws a full screen: without a terminal it would only print escape codes
        parser.print_help()
        sys.stderr.write(
            "animerec: no terminal for the app (stdin or stdout is not a tty); give a command\n"
        )
        return 2
    try:
        from animerec_tui.core.errors import AnimerecError
        from animerec_tui.core.settings import load_settings

        try:
            settings = load_settings(args.cache_dir, offline=args.offline or None)
            if args.command is None and app is not None:
                return app(settings)
            from animerec_tui.cli import commands

            return commands.run(args, settings)
        except AnimerecError as exc:
            sys.stderr.write(f"animerec: {exc}\n")
            return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("animerec: interrupted; the cache keeps everything completed so far.\n")
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        sys.stderr.write(
            "animerec: out of memory; lower [model] factors or ease_max_items in the settings\n"
        )
        return 1
    except Exception as exc:  # last line of defence: one line, never a traceback
        if os.environ.get("ANIMEREC_DEBUG"):
            raise
        name = type(exc).__name__
        detail = " ".join(str(exc).split())
        if name in NUMERICAL:
            sys.stderr.write(
                f"animerec: numerical failure ({name}: {detail}); check the [model] and "
                "[weights] settings, then run 'animerec train'\n"
            )
            return 1
        sys.stderr.write(f"animerec: unexpected error: {name}: {detail}\n")
        return 1
