"""The command line: the only module that prints or exits."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from primer_site import __version__
from primer_site.commands.build import BuildOptions, build_site
from primer_site.commands.sitefolder import clean_site, find_site
from primer_site.errors import Diagnostic, SiteError
from primer_site.workers import MAX_JOBS

if TYPE_CHECKING:
    from primer_site.commands.serve import PreviewReport


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # while the arguments are read, before the command's own handling
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if extra:  # reported by the subcommand, with its usage, not the top-level parser's
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.usage_of == "new post" and args.chapter is not None and args.series is None:
        args.parser.error("--chapter needs --series: a chapter is a chapter of a series")
    try:
        return args.run(args)
    except SiteError as error:
        if getattr(args, "debug", False):
            traceback.print_exc()
        if args.failure:
            _report(error.diagnostics, args.failure)
        else:  # one command's refusal (`new`, `clean`), not a build's report
            for diagnostic in error.diagnostics:
                where = f"primer-site {args.usage_of}: " if not diagnostic.path else ""
                print(f"{where}{diagnostic}".replace("<site>: ", ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def count(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 post", "2 posts", "0 posts"; `plural` for nouns that do not take an s."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _report(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], failure: str = "") -> None:
    """Each problem on its line, then, if any is an error, `failure` (e.g. "build failed; …") with the count."""
    for diagnostic in sorted(diagnostics):
        print(diagnostic, file=sys.stderr)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if errors and failure:
        outcome, _, suffix = failure.partition(";")
        print(f"{outcome}: {count(errors, 'error')}{';' + suffix if suffix else ''}", file=sys.stderr)


def _now(text: str | None) -> datetime | None:
    """The --now value; without a UTC offset it stays naive, to be read in the site's time zone."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


def _site(args: argparse.Namespace) -> Path:
    """The site's folder: --source, or the working folder or the nearest one above it holding site.yaml."""
    return find_site(args.source)


def _options(args: argparse.Namespace, **more: object) -> BuildOptions:
    """BuildOptions from the options every site command takes (see _site_options)."""
    return BuildOptions(
        source=_site(args), base_url=args.base_url, drafts=args.drafts, future=args.future, now=args.now, **more
    )


def _run_build(args: argparse.Namespace) -> int:
    options = _options(
        args,
        output=args.output,
        jobs=args.jobs,
        cache=not args.no_cache,
        check_math=args.check_math is not False,  # by default, whenever KaTeX can run
        require_katex=args.check_math is True,  # asked for by name: KaTeX not running is an error
        force=args.force,
    )
    result = build_site(options)
    _report(list(result.warnings))
    print(
        f"built {count(result.pages, 'page')} ({count(result.posts, 'post')}, {count(result.series, 'series', 'series')}, "
        f"{count(result.tags, 'tag')}) in {result.seconds:.2f} s: {count(result.written, 'file')} written, "
        f"{result.unchanged} unchanged → {options.output_dir}"
    )
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from primer_site.commands.check import check_site

    options = _options(args, check_math=args.check_math, require_katex=args.check_math)
    result = check_site(options, external=args.external, timeout=args.timeout)
    _report(list(result.diagnostics), failure="check failed")
    extra = f", {count(result.external, 'external URL')}" if args.external else ""
    print(f"checked {count(result.pages, 'page')} and {count(result.links, 'link')}{extra}")
    return 1 if any(d.severity == "error" for d in result.diagnostics) else 0


def _run_serve(args: argparse.Namespace) -> int:
    from primer_site.commands.serve import Preview
    from primer_site.preview.server import ServerError

    options = _options(args, check_math=args.check_math)
    if not args.host.strip():  # an empty $HOST: the empty address is every interface, which nobody asked for
        print("primer-site serve: --host is empty: serving on 127.0.0.1 only (--host 0.0.0.0 serves every interface)",
              file=sys.stderr)  # fmt: skip
        args.host = "127.0.0.1"
    try:
        preview = Preview(options, host=args.host, port=args.port, watch=args.watch, report=_print_preview_report)
    except ServerError as error:
        print(f"primer-site serve: {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = preview.start()
        watching = "rebuilding on every save" if args.watch else "not watching for changes"
        print(f"serving {options.source} at {url} ({watching}; Ctrl-C to stop)", flush=True)
        if args.open:
            import webbrowser  # only for `serve --open`

            webbrowser.open(url)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        preview.close()
    print("stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_preview_report(report: PreviewReport) -> None:
    from primer_site.commands.serve import RebuildCrashed, RebuildFailed

    changed = ""
    if report.changes is not None:
        paths = sorted(report.changes.paths)
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        changed = f" after {', '.join(paths[:3])}{more} changed"
    serving = "still serving the last good build"
    if isinstance(report, RebuildFailed | RebuildCrashed) and not report.served:
        serving = "no good build yet: the pages show the errors until they are fixed"
    if isinstance(report, RebuildFailed):
        for diagnostic in sorted(report.diagnostics):
            print(diagnostic, file=sys.stderr)
        errors = sum(1 for d in report.diagnostics if d.severity == "error")
        print(f"build failed{changed}: {count(errors, 'error')}; {serving}", file=sys.stderr, flush=True)
    elif isinstance(report, RebuildCrashed):
        print(report.traceback, file=sys.stderr, end="")
        print(f"build crashed{changed} (a bug in primer-site); {serving}", file=sys.stderr)
    else:
        _report(list(report.result.warnings))
        result = report.result
        print(
            f"built {count(result.pages, 'page')}{changed} in {result.seconds:.2f} s: "
            f"{count(result.written, 'file')} written, {result.unchanged} unchanged",
            flush=True,
        )


def _run_new_site(args: argparse.Namespace) -> int:
    from primer_site.commands.scaffold import new_site

    made = new_site(args.folder)
    for path in made.created:
        print(f"created {path}")
    for path in made.kept:
        print(f"kept {path} (it was there already)")
    print(f"next: cd {args.folder} && npm install && primer-site serve")
    return 0


def _run_new_post(args: argparse.Namespace) -> int:
    from primer_site.commands.scaffold import new_post

    made = new_post(_site(args), args.title, args.series, args.chapter)
    for warning in made.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    where = ""
    if made.series is not None:
        how = ", the next free one" if made.chapter_picked else ""
        where = f" as chapter {made.chapter} of series {made.series!r}{how}"
    print(f"created {made.path}{where} (a draft: build with --drafts to see it, remove 'draft: true' to publish)")
    return 0


def _run_new_series(args: argparse.Namespace) -> int:
    from primer_site.commands.scaffold import new_series

    made = new_series(_site(args), args.slug, args.title, args.chapters)
    print(f'created {made.path}: series "{args.slug}", titled "{made.title}" (posts join it with series: {args.slug})')
    return 0


def _run_clean(args: argparse.Namespace) -> int:
    site = _site(args)
    removed = clean_site(site, args.output, force=args.force)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print("nothing to remove")
    return 0


_SITE = "the site in the folder holding site.yaml (found from the working folder up, as git finds a repository)"


def _parser() -> argparse.ArgumentParser:
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
    build.set_defaults(run=_run_build)

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
    serve.set_defaults(run=_run_serve)

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
    check.set_defaults(run=_run_check)

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
    new_site.set_defaults(run=_run_new_site, usage_of="new site", parser=new_site, failure="")
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
    new_post.set_defaults(run=_run_new_post, usage_of="new post", parser=new_post, failure="")

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
    new_series.set_defaults(run=_run_new_series, usage_of="new series", parser=new_series, failure="")

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
    clean.set_defaults(run=_run_clean)
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
        return _now(text)  # type: ignore[return-value]
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
