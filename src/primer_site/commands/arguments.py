"""The command line's grammar: primer-site's commands, their options, and the checks argparse makes of each value
(a date, a positive number, a port). What each command does is cli.py's; nothing here prints or exits but
argparse's own usage errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from primer_site import __version__
from primer_site.workers import MAX_JOBS

Runner = Callable[[argparse.Namespace], int]


def parse_now(text: str | None) -> datetime | None:
    """The --now value; without a UTC offset it stays naive, to be read in the site's time zone."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


_SITE = "the site in the folder holding site.yaml (found from the working folder up, as git finds a repository)"


def command_parser(runners: Mapping[str, Runner]) -> argparse.ArgumentParser:
    """primer-site's commands and their options; each command's `run` default is `runners[its name]`."""
    parser = argparse.ArgumentParser(
        prog="primer-site",
        description="Build static sites of long-form writing in series. A site is a folder holding site.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"primer-site {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str, failure: str) -> argparse.ArgumentParser:
        made = subcommands.add_parser(name, help=summary, description=description)
        made.set_defaults(usage_of=name, parser=made, failure=failure)  # `parser`: its own usage, for its errors
        return made

    build = command(
        "build",
        "build the site into its output folder (public/)",
        f"Build {_SITE} into its output folder, SOURCE/public/ unless --output says otherwise. Settings come "
        "from site.yaml; posts from content/, series from series/. A failed build leaves the output as it was.",
        "build failed; the output folder was left as it was",
    )
    _site_options(build)
    build.add_argument("-o", "--output", type=Path, default=None, help="output folder (default: SOURCE/public)")
    build.add_argument(
        "--force",
        action="store_true",
        help="build into an output folder primer-site did not make, replacing (deleting) everything in it",
    )
    build.add_argument(
        "--jobs", type=_jobs, default=0, help=f"processes rendering Markdown, 1 to {MAX_JOBS} (default: one per CPU)"
    )
    build.add_argument("--no-cache", action="store_true", help="render every post afresh (ignore .primer-cache/)")
    build.add_argument(
        "--check-math",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check every formula with KaTeX (default: on, with a warning saying what to install if Node.js or the "
        "katex package is missing; --check-math makes that an error; --no-check-math leaves KaTeX out, and only "
        "braces, environments and unclosed $ are checked)",
    )
    build.set_defaults(run=runners["build"])

    serve = command(
        "serve",
        "build the site, serve it, and rebuild it on every save",
        f"Build {_SITE} into a private folder (never public/), serve it on this machine, and rebuild it when "
        "site.yaml, content/, series/, templates/ or static/ change. Open pages reload; errors show over them.",
        "serve failed",
    )
    _site_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument(
        "-p", "--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default: 8000)"
    )
    serve.add_argument(
        "--watch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rebuild on every save and reload open pages (default: on)",
    )
    serve.add_argument("--open", action="store_true", help="open the site in a web browser")
    serve.add_argument(
        "--check-math",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every formula with KaTeX on each build (default: on; a warning if KaTeX cannot run)",
    )
    serve.set_defaults(run=runners["serve"])

    check = command(
        "check",
        "build into a temporary folder and check links, images, math, feeds, chapters",
        f"Build {_SITE} into a temporary folder and report every broken link, #fragment and image, every formula "
        "KaTeX rejects, malformed feeds and missing chapters, each at its file and line. Exits 1 on any error.",
        "check failed",
    )
    _site_options(check)
    check.add_argument("--external", action="store_true", help="also request every external link")
    check.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each external link (default 10)"
    )
    check.add_argument(
        "--check-math",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every formula with KaTeX, which needs Node.js and the katex npm package (default: on)",
    )
    check.set_defaults(run=runners["check"])

    new = command(
        "new",
        "start a new site or post",
        "Start a new site (a folder with site.yaml, a series and a first post) or a new post in the site "
        "holding site.yaml.",
        "",
    )
    kinds = new.add_subparsers(dest="what", metavar="site|post|series", required=True)
    new_site = kinds.add_parser(
        "site",
        help="a new site in FOLDER",
        description="Make a site in FOLDER: site.yaml (the settings), a series, a first post, package.json "
        "(KaTeX for the math check) and .gitignore. Files FOLDER holds already are kept.",
    )
    new_site.add_argument("folder", type=Path, metavar="FOLDER", help="the site's folder (made if need be)")
    new_site.add_argument("--debug", action="store_true", help="show Python tracebacks")
    new_site.set_defaults(run=runners["new site"], usage_of="new site", parser=new_site, failure="")
    new_post = kinds.add_parser(
        "post",
        help="a new draft post in the site",
        description="Write a draft post titled TITLE, dated today, into the site holding site.yaml: "
        "content/posts/, or beside its series' chapters with --series (the next free chapter unless --chapter).",
    )
    new_post.add_argument("title", metavar="TITLE", help="the post's title")
    new_post.add_argument(
        "-s", "--source", type=Path, default=None, help="the site's folder (default: the one holding site.yaml)"
    )
    new_post.add_argument("--series", help="the series' slug (or title)")
    new_post.add_argument("--chapter", help="chapter number, e.g. 3 or 1.3 (default: the next free one)")
    new_post.add_argument("--debug", action="store_true", help="show Python tracebacks")
    new_post.set_defaults(run=runners["new post"], usage_of="new post", parser=new_post, failure="")

    new_series = kinds.add_parser(
        "series",
        help="a new series file in the site",
        description="Write series/SLUG.md into the site holding site.yaml: the series' title, its planned chapters, "
        "and its optional settings (number_sections, macros) commented out. Posts join it with `series: SLUG`.",
    )
    new_series.add_argument("slug", metavar="SLUG", help="the series' slug: its file's name and its URL")
    new_series.add_argument("--title", help="the series' title (default: the slug's words)")
    new_series.add_argument(
        "--chapters", type=_positive, default=None, help='planned chapters, for "Chapter 3 of N" (default: none)'
    )
    new_series.add_argument(
        "-s", "--source", type=Path, default=None, help="the site's folder (default: the one holding site.yaml)"
    )
    new_series.add_argument("--debug", action="store_true", help="show Python tracebacks")
    new_series.set_defaults(run=runners["new series"], usage_of="new series", parser=new_series, failure="")

    clean = command(
        "clean",
        "remove the output folder, its staging folder and the body cache",
        "Remove what builds of the site holding site.yaml made: the output folder (SOURCE/public unless "
        "--output), the staging folder beside it, and .primer-cache/. Only folders primer-site made are removed.",
        "",
    )
    clean.add_argument(
        "-s", "--source", type=Path, default=None, help="the site's folder (default: the one holding site.yaml)"
    )
    clean.add_argument("-o", "--output", type=Path, default=None, help="output folder (default: SOURCE/public)")
    clean.add_argument(
        "--force", action="store_true", help="remove the output folder even if primer-site did not make it"
    )
    clean.add_argument("--debug", action="store_true", help="show Python tracebacks")
    clean.set_defaults(run=runners["clean"])
    return parser


def _site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-s", "--source", type=Path, default=None, help="the site's folder (default: the one holding site.yaml)"
    )
    command.add_argument("--base-url", default=None, help="override site.yaml's base_url")
    command.add_argument("-D", "--drafts", action="store_true", help="include posts marked draft: true")
    command.add_argument("-F", "--future", action="store_true", help="include posts dated in the future")
    command.add_argument(
        "--now",
        type=_now_arg,
        default=None,
        help="pretend it is this date/time (ISO), e.g. 2026-06-01; without an offset, in site.yaml's timezone",
    )
    command.add_argument("--debug", action="store_true", help="show Python tracebacks")


def _now_arg(text: str) -> datetime:
    try:
        return parse_now(text)  # type: ignore[return-value]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or datetime") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _jobs(text: str) -> int:
    value = _positive(text)
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{text} is more than {MAX_JOBS}: each job is a process of 50-100 MB, and more than the CPUs buys nothing"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0 picks a free one)")
    return value
