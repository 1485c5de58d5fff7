"""The command line: the only module that prints or exits."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
import webbrowser
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .build import BuildOptions, build_site
from .errors import Diagnostic, SiteError

if TYPE_CHECKING:
    from .serve import PreviewReport


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except SiteError as error:
        if getattr(args, "debug", False):
            traceback.print_exc()
        _report(error.diagnostics)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _report(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], failure: str = "") -> None:
    for diagnostic in sorted(diagnostics):
        print(diagnostic, file=sys.stderr)
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if errors:
        outcome = failure or "build failed"
        suffix = "" if failure else "; the output folder was left as it was"
        print(f"{outcome}: {errors} error{'s' if errors != 1 else ''}{suffix}", file=sys.stderr)


def _now(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _options(args: argparse.Namespace, **more: object) -> BuildOptions:
    """BuildOptions from the options every site command takes (see _site_options)."""
    return BuildOptions(
        source=args.source, base_url=args.base_url, drafts=args.drafts, future=args.future, now=args.now, **more
    )


def _run_build(args: argparse.Namespace) -> int:
    options = _options(args, output=args.output, jobs=args.jobs, cache=not args.no_cache, check_math=args.check_math)
    result = build_site(options)
    _report(list(result.warnings))
    print(
        f"built {result.pages} pages ({result.posts} posts, {result.series} series, {result.tags} tags) "
        f"in {result.seconds:.2f} s: {result.written} files written, {result.unchanged} unchanged → {options.output_dir}"
    )
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from .check import check_site

    options = _options(args)
    result = check_site(options, external=args.external, timeout=args.timeout)
    _report(list(result.diagnostics), failure="check failed")
    extra = f", {result.external} external URLs" if args.external else ""
    print(f"checked {result.pages} pages and {result.links} links{extra}")
    return 1 if any(d.severity == "error" for d in result.diagnostics) else 0


def _run_serve(args: argparse.Namespace) -> int:
    from .serve import Preview
    from .server import ServerError

    options = _options(args, check_math=args.check_math)
    try:
        preview = Preview(options, host=args.host, port=args.port, watch=args.watch, report=_print_preview_report)
    except ServerError as error:
        print(f"primer-site serve: {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = preview.start()
        watching = "rebuilding on every save" if args.watch else "not watching for changes"
        print(f"serving {args.source} at {url} ({watching}; Ctrl-C to stop)", flush=True)
        if args.open:
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
    from .serve import RebuildCrashed, RebuildFailed

    changed = ""
    if report.changes is not None:
        paths = sorted(report.changes.paths)
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        changed = f" after {', '.join(paths[:3])}{more} changed"
    if isinstance(report, RebuildFailed):
        for diagnostic in sorted(report.diagnostics):
            print(diagnostic, file=sys.stderr)
        errors = sum(1 for d in report.diagnostics if d.severity == "error")
        print(
            f"build failed{changed}: {errors} error{'s' if errors != 1 else ''}; still serving the last good build",
            file=sys.stderr,
            flush=True,
        )
    elif isinstance(report, RebuildCrashed):
        print(report.traceback, file=sys.stderr, end="")
        print(f"build crashed{changed} (a bug in primer-site); still serving the last good build", file=sys.stderr)
    else:
        _report(list(report.result.warnings))
        result = report.result
        print(
            f"built {result.pages} pages{changed} in {result.seconds:.2f} s: "
            f"{result.written} files written, {result.unchanged} unchanged",
            flush=True,
        )


def _run_new(args: argparse.Namespace) -> int:
    from .scaffold import new_post, new_site

    if args.what == "site":
        for path in new_site(Path(args.name)):
            print(f"created {path}")
        print(f"next: cd {args.name} && primer-site build")
    else:
        path = new_post(args.source, args.name, args.series, args.chapter, date.today())
        print(f"created {path} (a draft: build with --drafts to see it, remove 'draft: true' to publish)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="primer-site", description="Build static sites of long-form writing in series."
    )
    parser.add_argument("--version", action="version", version=f"primer-site {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser("build", help="build the site into the output folder")
    _site_options(build)
    build.add_argument("--output", type=Path, default=None, help="output folder (default: SOURCE/public)")
    build.add_argument("--jobs", type=_positive, default=0, help="processes rendering Markdown (default: one per CPU)")
    build.add_argument("--no-cache", action="store_true", help="render every post afresh (ignore .primer-cache/)")
    build.add_argument(
        "--check-math", action="store_true", help="check every formula with KaTeX (needs Node.js and katex)"
    )
    build.set_defaults(run=_run_build)

    serve = commands.add_parser("serve", help="build the site, serve it, and rebuild it on every save")
    _site_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default: 8000)")
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
        help="check every formula with KaTeX on each build (default: on)",
    )
    serve.set_defaults(run=_run_serve)

    check = commands.add_parser("check", help="build into a temporary folder and check links, images, feeds, chapters")
    _site_options(check)
    check.add_argument("--external", action="store_true", help="also request every external link")
    check.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each external link (default 10)"
    )
    check.set_defaults(run=_run_check)

    new = commands.add_parser("new", help="start a new site or post")
    new.add_argument("what", choices=["site", "post"])
    new.add_argument("name", help="site: the folder to create; post: its title")
    new.add_argument("--source", type=Path, default=Path("."), help="the site folder (for a post)")
    new.add_argument("--series", help="series slug (for a post)")
    new.add_argument("--chapter", help="chapter number, e.g. 3 or 1.3 (with --series)")
    new.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    new.set_defaults(run=_run_new)
    return parser


def _site_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", type=Path, default=Path("."), help="the site folder (default: .)")
    command.add_argument("--base-url", default=None, help="override site.yaml's base_url")
    command.add_argument("--drafts", action="store_true", help="include posts marked draft: true")
    command.add_argument("--future", action="store_true", help="include posts dated in the future")
    command.add_argument(
        "--now", type=_now_arg, default=None, help="pretend it is this date/time (ISO), e.g. 2026-06-01"
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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535; 0 picks a free one)")
    return value
