"""The command line: the only module that prints or exits."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from primer_site.commands.arguments import command_parser
from primer_site.commands.build import BuildOptions, build_site
from primer_site.commands.sitefolder import clean_site, find_site
from primer_site.errors import Diagnostic, SiteError

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


def _parser() -> argparse.ArgumentParser:
    """The command line's grammar (arguments.py), each command run by its function here."""
    return command_parser(
        {
            "build": _run_build,
            "serve": _run_serve,
            "check": _run_check,
            "new site": _run_new_site,
            "new post": _run_new_post,
            "new series": _run_new_series,
            "clean": _run_clean,
        }
    )
