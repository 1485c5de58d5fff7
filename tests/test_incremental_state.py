"""Incremental builds give the bytes of a fresh build, after any sequence of edits (a Hypothesis state machine).

Each step edits a small site the way an author does — post bodies, titles, dates, drafts, series and chapters,
tags, slugs, summaries, categories; series files (order, chapters, macros, their collection); templates added,
changed and removed, helpers imported with {% import %} and {% from … import %}; static files and files beside
posts, some replaced by others of the same size and modification time; posts and series files that are links to
files elsewhere; site.yaml; "now" moving past a scheduled post's date; --jobs 2 and fingerprinted names — then
builds it three ways and asserts that all three agree, byte for byte, or fail with the same errors:

  in one process   the dev server's way: one BuildMemory across every build of the sequence, told the paths a
                   watcher would report (which miss an edit made through a link: a hint, never the whole story)
  across processes a warm `build`: no memory, the render memory and caches in .primer-cache/ from the last one
                   (twice: as it is, and trusting every file's stamp, so that unchanged inputs stop it at once)
  fresh            no memory, no cache, an empty output folder

Profiles: "ci" (the default, a short derandomised run) and "long" (bench/incremental_state.py).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fixture_sites import NOW, tree_bytes
from primer_site import store
from primer_site.commands.build import BuildMemory, BuildOptions, build_site, sources_settled
from primer_site.errors import SiteError

LATER = datetime(2026, 8, 1, tzinfo=UTC)  # past the scheduled date below
POSTS = [f"p{n}" for n in range(6)]
SERIES = ["s1", "s2"]

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}
settings.register_profile("incremental-ci", max_examples=12, stateful_step_count=15, derandomize=True, **_COMMON)
settings.register_profile(
    "incremental-long",  # bench/incremental_state.py
    max_examples=int(os.environ.get("PRIMER_INCREMENTAL_EXAMPLES", "400")),
    stateful_step_count=int(os.environ.get("PRIMER_INCREMENTAL_STEPS", "30")),
    **_COMMON,
)
PROFILE = settings.get_profile(os.environ.get("PRIMER_INCREMENTAL_PROFILE", "incremental-ci"))

TITLES = ["Entropy", "Cross-entropy", "Attention $QK^T$", "KL divergence", "Softmax"]
DATES = ["2026-01-05", "2026-02-10", "2026-03-01", "2026-07-01"]  # the last is after NOW: scheduled
SLUGS = ["", "custom", "other-slug"]
SUMMARIES = ["", '"A summary with $x$."', '"Plain summary."']
CATEGORIES = ["", "notes", "essays"]
TAGS = ["[]", "[math]", "[math, attention]", "[alignment]"]
BODIES = [
    "A first paragraph.\n\nMore text.",
    "Inline $x_t$ and display:\n\n$$ H(p) = -\\sum_x p(x) \\log p(x) $$ (eq:h)\n\n## A heading\n\nText.",
    "See [the anchor](anchor.md), [](anchor.md) and [its equation](anchor.md#eq:kl).\n\nSecond paragraph.",
    "A reference to [](anchor.md#eq:kl) and to [](anchor.md#a-section).",
    "Uses a macro: $\\E[x]$.\n\n## Heading one\n\n### Sub\n\nText.",
    "Links to a post that may be gone: [](p1.md).",  # an error while p1 is missing
    'A figure beside the post:\n\n![A plot](img/plot.svg "The plot"){#fig:plot}\n\nSee [](#fig:plot).',
]
# A post the machine never edits, for the others to link to: its title, heading and equation can be referenced.
ANCHOR = (
    "---\ntitle: The anchor\ndate: 2026-01-01\ntags: [math]\n---\n"
    "Anchored.\n\n## A section\n\n$$ D_{KL}(p \\| q) $$ (eq:kl)\n"
)
CHAPTERS = [str(n) for n in range(12)]
SERIES_FILES = [
    None,
    "---\ntitle: Volume {n}\ncollection: shelf\norder: {n}\nchapters: 12\n---\nVolume {n} described.\n",
    "---\ntitle: Volume {n}, retitled\ncollection: shelf\norder: {m}\nnumber_sections: true\n---\nNew words.\n",
    "---\ntitle: Volume {n}\nmacros:\n  \\E: \\mathbb{{E}}\n---\nWith a macro.\n",
]
TEMPLATES = {
    "templates/post.html": [
        None,
        "{% extends 'base.html' %}{% block main %}<h1>{{ post.title }}</h1>{{ post.body_html | safe }}"
        "{% include '_recent.html' %}{% endblock %}\n",
        "{% extends 'base.html' %}{% block main %}<article>{{ post.body_html | safe }}</article>"
        "<p>{{ post.reading_minutes }} min</p>{% endblock %}\n",
    ],
    "templates/_recent.html": [
        None,
        "<ul class=recent>{% for p in site.posts[:3] %}<li>{{ p.title }}</li>{% endfor %}</ul>\n",
        "<ol class=recent>{% for p in site.posts %}<li>{{ p.title }} {{ p.date | date }}</li>{% endfor %}</ol>\n",
    ],
    # a helper whose top-level reads Jinja keeps with the module, imported both ways
    "templates/_brand.html": [
        None,
        "{% set tagline = config.title | upper %}{% macro sign() %}{{ config.base_url }}{% endmacro %}\n",
        "{% set tagline = config.base_path ~ ' ' ~ config.title %}{% macro sign() %}-{% endmacro %}\n",
    ],
    "templates/taxon.html": [
        None,
        "{% extends 'base.html' %}{% block main %}{% import '_brand.html' as brand %}<p>{{ brand.tagline }}"
        "{{ brand.sign() }}</p>{% for p in posts %}<p>{{ p.title }}</p>{% endfor %}{% endblock %}\n",
        "{% extends 'base.html' %}{% block main %}{% from '_brand.html' import tagline %}<p>{{ tagline }}</p>"
        "{% endblock %}\n",
    ],
    "templates/series.html": [
        None,
        "{% extends 'base.html' %}{% block main %}<h1>{{ series.title }}</h1>"
        "{% for p in series.posts %}<p>{{ p.chapter_label }} {{ p.title }}</p>{% endfor %}{% endblock %}\n",
    ],
}
STATIC = {
    # a figure beside the posts (a body shows it): resized, or gone (an error while a body shows it)
    "content/img/plot.svg": [
        "<svg xmlns='http://www.w3.org/2000/svg' width='40' height='30'/>\n",
        "<svg xmlns='http://www.w3.org/2000/svg' width='80' height='20'/>\n",
        None,
    ],
    "static/css/extra.css": [None, "p { color: teal }\n", "p { color: navy }\n"],
    "static/img/figure.svg": [None, "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>\n"],
}
SITE_YAML = [
    "title: Incremental\nbase_url: https://example.org/\n",
    "title: Incremental, renamed\nbase_url: https://example.org/\npaginate: 2\n",
    "title: Incremental\nbase_url: https://example.org/sub/\nmacros:\n  \\E: \\mathbb{E}\n",
    "title: Incremental\nbase_url: https://example.org/\npermalinks:\n  post: /{year}/{slug}/\n",
    "title: Incremental\nbase_url: https://example.org/\nfeeds: {content: full}\n",  # feeds carry KaTeX's MathML
    # the pages' math typeset at build time, by the KaTeX the check runs
    "title: Incremental\nbase_url: https://example.org/\nmath: {render: build}\nmacros:\n  \\E: \\mathbb{E}\n",
    "title: Incremental\nbase_url: https://example.org/sub/\nmath: {render: build}\nkatex_url: self\n"
    "feeds: {content: full}\nmacros:\n  \\E: \\mathbf{E}\n",
    "title: Incremental\nbase_url: https://example.org/\nkatex_url: self\n",  # KaTeX's script copied too
]
COLLECTION = "---\ntitle: The Shelf\nkind: collection\n---\nA shelf of volumes.\n"


class IncrementalBuilds(RuleBasedStateMachine):
    """A site edited step by step, built three ways after each step."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.root = Path(tempfile.mkdtemp(prefix="primer-incremental-"))
        self.site = self.root / "site"
        self.posts: dict[str, dict[str, str] | None] = {}
        self.memory = BuildMemory()
        self.touched: set[str] = set()  # what the watcher would report since the last good build
        self.now = NOW
        self.jobs = 1
        self.fingerprint = False

    def teardown(self) -> None:
        self.memory.close()  # its KaTeX process: one per example would pile up
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ writing the site

    def write(self, relative: str, text: str | None) -> None:
        path = self.site / relative
        if not path.is_symlink() or text is None:
            self.touched.add(relative)  # an edit through a link happens at its target: no watcher names the link
        if text is None:
            if path.exists() or path.is_symlink():
                path.unlink()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def write_post(self, name: str) -> None:
        fields = self.posts[name]
        if fields is None:
            self.write(f"content/{name}.md", None)
            return
        front = [f"{key}: {value}" for key, value in fields.items() if key != "body" and value != ""]
        self.write(f"content/{name}.md", "---\n" + "\n".join(front) + "\n---\n" + fields["body"] + "\n")

    @initialize()
    def a_small_site(self) -> None:
        self.write("site.yaml", SITE_YAML[0])
        self.write("series/shelf.md", COLLECTION)
        self.write("content/anchor.md", ANCHOR)
        self.write("content/img/plot.svg", STATIC["content/img/plot.svg"][0])
        for n, name in enumerate(SERIES, start=1):
            self.write(f"series/{name}.md", SERIES_FILES[1].format(n=n, m=n))
        for n, name in enumerate(POSTS[:5]):
            self.posts[name] = {
                "title": f'"{TITLES[n % len(TITLES)]} {n}"',
                "date": DATES[n % 3],
                "series": SERIES[n % 2] if n < 4 else "",
                "chapter": str(n // 2 + 1) if n < 4 else "",
                "tags": TAGS[n % len(TAGS)],
                "draft": "",
                "body": BODIES[n % 5],  # not the last: the first site builds
            }
            self.write_post(name)
        self.posts[POSTS[5]] = None

    # ------------------------------------------------------------ the edits

    @rule(
        name=st.sampled_from(POSTS),
        edit=st.one_of(
            st.tuples(st.just("body"), st.sampled_from(BODIES)),
            st.tuples(st.just("title"), st.sampled_from(TITLES).map(lambda t: f'"{t}"')),
            st.tuples(st.just("date"), st.sampled_from(DATES)),
            st.tuples(st.just("draft"), st.sampled_from(["", "true", "false"])),
            st.tuples(st.just("tags"), st.sampled_from(TAGS)),
            st.tuples(st.just("slug"), st.sampled_from(SLUGS)),
            st.tuples(st.just("summary"), st.sampled_from(SUMMARIES)),
            st.tuples(st.just("category"), st.sampled_from(CATEGORIES)),
            st.tuples(st.just("series"), st.tuples(st.sampled_from(["", *SERIES]), st.sampled_from(CHAPTERS))),
        ),
    )
    def edit_a_post(self, name: str, edit: tuple[str, object]) -> None:
        fields = self.posts.get(name)
        if not fields:
            return
        key, value = edit
        if key == "series":
            series, chapter = value  # type: ignore[misc]
            fields["series"], fields["chapter"] = series, chapter if series else ""
        else:
            fields[key] = value  # type: ignore[assignment]
        self.write_post(name)

    @rule(name=st.sampled_from(POSTS), present=st.booleans(), n=st.integers(0, 4))
    def add_or_remove_a_post(self, name: str, present: bool, n: int) -> None:
        if present and not self.posts.get(name):
            self.posts[name] = {
                "title": f'"{TITLES[n]} {name}"',
                "date": DATES[n % len(DATES)],
                "series": SERIES[n % 2],
                "chapter": str(6 + POSTS.index(name)),  # past the first posts' chapters
                "tags": TAGS[n % len(TAGS)],
                "draft": "",
                "body": BODIES[n],
            }
        elif not present:
            self.posts[name] = None
        self.write_post(name)

    @rule(name=st.sampled_from(SERIES), variant=st.integers(0, len(SERIES_FILES) - 1), order=st.integers(1, 3))
    def edit_a_series_file(self, name: str, variant: int, order: int) -> None:
        text = SERIES_FILES[variant]
        n = SERIES.index(name) + 1
        self.write(f"series/{name}.md", None if text is None else text.format(n=n, m=order))

    @rule(name=st.sampled_from(sorted(TEMPLATES)), variant=st.integers(0, 2))
    def edit_a_template(self, name: str, variant: int) -> None:
        variants = TEMPLATES[name]
        self.write(name, variants[variant % len(variants)])

    @rule(name=st.sampled_from(sorted(STATIC)), variant=st.integers(0, 2))
    def edit_a_static_file(self, name: str, variant: int) -> None:
        variants = STATIC[name]
        self.write(name, variants[variant % len(variants)])

    @rule(name=st.sampled_from([*(f"content/{p}.md" for p in POSTS), *(f"series/{s}.md" for s in SERIES)]))
    def make_a_file_a_link(self, name: str) -> None:
        """The post or series file becomes a link to a file outside the site, with the same text."""
        path = self.site / name
        if not path.is_file() or path.is_symlink():
            return
        target = self.root / "elsewhere" / name.replace("/", "-")
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(target)
        self.touched.add(name)

    @rule(name=st.sampled_from(["static/css/extra.css", "content/img/plot.svg"]))
    def replace_a_file_keeping_its_size_and_time(self, name: str) -> None:
        """`cp -p`, `rsync -t`, `tar x`: other bytes of the same size, the old modification time set back."""
        path = self.site / name
        if not path.is_file():
            return
        info = path.stat()
        others = [v for v in STATIC[name] if v is not None and len(v) == info.st_size and v != path.read_text()]
        if not others:
            return
        path.write_text(others[0], encoding="utf-8")
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        self.touched.add(name)

    @rule()
    def time_passes_a_scheduled_date(self) -> None:
        self.now = LATER  # the posts dated 2026-07-01 are published now

    @rule(jobs=st.sampled_from([1, 2]), fingerprint=st.booleans())
    def change_how_it_builds(self, jobs: int, fingerprint: bool) -> None:
        self.jobs, self.fingerprint = jobs, fingerprint

    @rule(variant=st.integers(0, len(SITE_YAML) - 1), comment=st.integers(0, 3))
    def edit_site_yaml(self, variant: int, comment: int) -> None:
        # a comment makes another file with the same settings: an equal config, read anew
        self.write("site.yaml", SITE_YAML[variant] + (f"# saved again ({comment})\n" if comment else ""))

    # ------------------------------------------------------------ the check

    @staticmethod
    def note_outcome(fresh: object) -> None:
        """For Hypothesis's statistics (pytest --hypothesis-show-statistics): most steps must build, or the
        machine compares little but error messages."""
        event("the site builds" if isinstance(fresh, dict) else "the site has errors")

    def build(self, output: Path, memory: BuildMemory | None, cache: bool) -> dict[str, bytes] | list[str]:
        options = BuildOptions(
            source=self.site, output=output, now=self.now, jobs=self.jobs, cache=cache, fingerprint=self.fingerprint
        )
        try:
            if memory is None:
                build_site(options)
            else:  # the dev server's way (Preview.rebuild): told which paths changed since its last good build
                self.build_settled(options, memory)
        except SiteError as error:
            return [str(d) for d in error.diagnostics if d.severity == "error"]
        return {path: data for path, data in tree_bytes(output).items() if not path.startswith(".primer")}

    def build_settled(self, options: BuildOptions, memory: BuildMemory) -> None:
        """A first look at the paths a watcher reports, then the verification of every file by its stamp, and a
        build again when it found a change the first look missed (an edit through a link): what the preview
        serves once it has settled."""
        failed = None
        try:
            build_site(options, memory, set(self.touched), first_look=True)
            self.touched.clear()
        except SiteError as error:
            failed = error
        if not sources_settled(options, memory):
            event("the verification found a change the first look missed")
            build_site(options, memory, set(self.touched))
            self.touched.clear()
        elif failed is not None:
            raise failed

    @invariant()
    def three_builds_agree(self) -> None:
        fresh_output = self.root / "fresh"
        shutil.rmtree(fresh_output, ignore_errors=True)
        fresh = self.build(fresh_output, None, cache=False)
        self.note_outcome(fresh)
        in_process = self.build(self.root / "in-process", self.memory, cache=True)
        across = self.build(self.root / "across", None, cache=True)
        # the same, trusting every file's stamp however recent (the machine's edits are milliseconds apart), so
        # that a build whose inputs are unchanged stops at once, as it does for an author
        racy, store.RACY_SECONDS = store.RACY_SECONDS, -1e9
        try:
            trusting = self.build(self.root / "trusting", None, cache=True)
        finally:
            store.RACY_SECONDS = racy
        if isinstance(fresh, list):
            assert in_process == fresh, "one process: not the fresh build's errors"
            assert across == fresh, "warm build: not the fresh build's errors"
            assert trusting == fresh, "warm build trusting stamps: not the fresh build's errors"
            return
        assert isinstance(in_process, dict), in_process
        assert isinstance(across, dict), across
        assert isinstance(trusting, dict), trusting
        for name, made in (("one process", in_process), ("warm build", across), ("trusting stamps", trusting)):
            differ = sorted(path for path in fresh.keys() | made.keys() if fresh.get(path) != made.get(path))
            assert not differ, f"{name}: {len(differ)} files differ from a fresh build, e.g. {differ[:5]}"


IncrementalBuilds.TestCase.settings = PROFILE
test_incremental_builds_equal_a_fresh_build = pytest.mark.long(
    pytest.mark.filterwarnings("ignore::ResourceWarning")(IncrementalBuilds.TestCase)
)
