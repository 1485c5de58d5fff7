"""Every YAML and Markdown example in README.md builds as shown, and its values reach the pages as written.

The README is read when the test runs, so an example edited later is checked too. YAML blocks are sorted by
their look: `---` and a `date:` is a post, `---` without one is a series file (named after the `series:` of a
post example, as the README's layout describes), and a bare mapping is a site.yaml; a Markdown block is a post
(given a front matter if it has none). All of them make one site, built with --drafts --future like an author
previewing it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fixture_sites import REPO, make_site, run_cli
from primer_site.syntax.inline import render_inline, render_title
from primer_site.urls import slugify

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
KEY_LINE = re.compile(r"^([A-Za-z_]\w*):[ \t]*(.*)$")
NESTED_LINE = re.compile(r"^[ \t]+(\S[^:]*):[ \t]*(.*)$")
# Keys no page shows as written text (dates, flags, numbers, URLs, settings, free data): every other key of an
# example must have its check below, so that a key added to the README is not left unchecked.
NOT_SHOWN = {
    "date", "updated", "draft", "extra", "kind", "order", "gaps", "number_sections", "base_url", "timezone",
    "paginate", "permalinks", "highlight", "katex_url", "raw_html", "feeds", "search", "math", "theorems",
    "follow_links_outside",  # nothing on a page shows it: tests/test_hostile.py holds it
}  # fmt: skip


@dataclass
class Example:
    kind: str  # "post", "series" or "site"
    text: str  # the file as written in the README
    file: str = ""  # where it goes in the fixture site
    values: dict[str, str] = field(default_factory=dict)  # top-level key → the value as written, read here
    nested: dict[str, dict[str, str]] = field(default_factory=dict)  # macros, or one menu's names → URLs


def readme_examples() -> list[Example]:
    examples = []
    for language, block in FENCE.findall((REPO / "README.md").read_text(encoding="utf-8")):
        if language in ("yaml", "yml"):
            if block.startswith("# i18n/"):  # a message catalogue, not a site's settings: test_i18n.py reads it
                continue
            front = block.startswith("---\n")
            kind = "site" if not front else "post" if re.search(r"^date:", block, re.MULTILINE) else "series"
            examples.append(Example(kind, block))
        elif language in ("markdown", "md"):
            text = block if block.startswith("---\n") else f"---\ntitle: Example\ndate: 2026-01-05\n---\n{block}"
            examples.append(Example("post", text))
    for example in examples:
        example.values, example.nested = read_as_written(example.text)
    return examples


def read_as_written(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The one-line values of `text` as a reader of the file sees them: a plain value up to its comment, a quoted
    one between its quotes. Independent of primer-site's loader, which must agree with it."""
    values: dict[str, str] = {}
    nested: dict[str, dict[str, str]] = {}
    key = ""
    for line in text.split("\n---\n", 1)[0].removeprefix("---\n").splitlines():
        if match := KEY_LINE.match(line):
            key, values[key] = match.group(1), scalar_as_written(match.group(2))
            if values[key].startswith(("[", "{")):
                nested[key] = flow_as_written(values[key])
        elif (match := NESTED_LINE.match(line)) and key:
            nested.setdefault(key, {})[match.group(1)] = scalar_as_written(match.group(2))
    return values, nested


def scalar_as_written(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        body = re.match(r'"((?:[^"\\]|\\.)*)"', value)
        assert body, f"unclosed double quotes in a README example: {value}"
        assert not re.search(r'\\[^\\"]', body.group(1)), f"a README example uses a YAML escape: {value}"
        return re.sub(r"\\(.)", r"\1", body.group(1))
    if value.startswith("'"):
        body = re.match(r"'((?:[^']|'')*)'", value)
        assert body, f"unclosed single quotes in a README example: {value}"
        return body.group(1).replace("''", "'")
    return "" if value.startswith("#") else re.split(r"[ \t]#", value, maxsplit=1)[0].strip()


def flow_as_written(value: str) -> dict[str, str]:
    """`[a, b]` → {a: a, b: b}; `{k: v}` and `[{name: n, url: u}]` → {k: v} and {n: u}: enough for the README's
    one-line collections."""
    items = [item.strip() for item in re.split(r",\s*(?![^{]*\})", value.strip()[1:-1]) if item.strip()]
    pairs = {}
    for item in items:
        if item.startswith("{"):
            fields = dict(part.split(":", 1) for part in item.strip("{}").split(","))
            fields = {k.strip(): scalar_as_written(v) for k, v in fields.items()}
            pairs[fields.get("name", "")] = fields.get("url", "")
        elif ":" in item and not value.startswith("["):
            name, expansion = item.split(":", 1)
            pairs[scalar_as_written(name)] = scalar_as_written(expansion)
        else:
            pairs[scalar_as_written(item)] = scalar_as_written(item)
    return pairs


def place_examples(examples: list[Example]) -> dict[str, str]:
    """The fixture site's files: each example where the README's layout puts it."""
    files: dict[str, str] = {}
    named_series = [e.values["series"] for e in examples if e.kind == "post" and e.values.get("series")]
    for index, example in enumerate(examples):
        if example.kind == "post":
            example.file = f"content/readme-{index}.md"
            body = example.text.split("\n---\n", 1)[1] if example.text.count("\n---\n") else ""
            files[example.file] = example.text + ("" if body.strip() else "A formula, $x^2$.\n")
        elif example.kind == "series":
            slug = named_series.pop(0) if named_series else slugify(example.values["title"])
            example.file = f"series/{slug}.md"
            files[example.file] = example.text
        elif "site.yaml" not in files:
            example.file = "site.yaml"
            files["site.yaml"] = example.text
    for example in examples:  # the files a post example shows beside it: the README's reader has them
        if example.kind == "post":
            folder = example.file.rsplit("/", 1)[0]
            for target in re.findall(r"\]\(([\w./-]+\.(?:svg|csv|txt))", example.text):
                files.setdefault(f"{folder}/{target}", _SIDE_FILES[target.rsplit(".", 1)[1]])
    for example in examples:  # a volume's collection: the README says it is a file with `kind: collection`
        collection = example.values.get("collection")
        if example.kind == "series" and collection and f"series/{collection}.md" not in files:
            files[f"series/{collection}.md"] = f"---\ntitle: {collection}\nkind: collection\n---\n"
    return files


# what a file beside a post holds, for an example that shows one (an SVG needs its size)
_SIDE_FILES = {
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360"></svg>\n',
    "csv": "step,loss\n1,2.3\n",
    "txt": "notes\n",
}

EXAMPLES = readme_examples()


def test_the_readme_has_examples_of_each_file() -> None:
    assert {e.kind for e in EXAMPLES} == {"post", "series", "site"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("readme")
    make_site(site, place_examples(EXAMPLES))
    result = run_cli("build", "--source", str(site), "--drafts", "--future", "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr and "error" not in result.stderr, result.stderr
    return site / "public"


def page(out: Path, url: str) -> str:
    return (out / url.strip("/") / "index.html").read_text(encoding="utf-8")


def escaped(value: str) -> str:
    return html.escape(value, quote=False)


def macros_on(page_html: str) -> dict[str, str]:
    found = re.search(r'data-macros="([^"]*)"', page_html)
    return json.loads(html.unescape(found.group(1))) if found else {}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "post"], ids=lambda e: e.file or "post")
def test_a_post_example_reaches_its_page_as_written(built: Path, example: Example) -> None:
    values, checked = example.values, set()
    slug = values.get("slug") or Path(example.file).stem
    html_page = page(built, f"posts/{slug}")
    checked.add("slug")
    if "title" in values:
        assert f'<h1 class="post-title">{render_title(values["title"])}</h1>' in html_page
        checked.add("title")
    if "summary" in values:
        assert f'<p class="entry-summary">{render_inline(values["summary"])[0]}</p>' in page(built, "")
        checked.add("summary")
    if "description" in values:
        assert f'<meta name="description" content="{html.escape(values["description"])}">' in html_page
        checked.add("description")
    for key, kind in (("tags", "tags"), ("category", "categories")):
        names = example.nested.get(key) or ({values[key]: values[key]} if values.get(key) else {})
        for name in names:  # the taxonomy's index lists it by name
            assert f'<a href="/{kind}/{slugify(name)}/">{escaped(name)}</a>' in page(built, kind), (key, name)
        checked.add(key)
    if "chapter" in values:
        label = "Section" if "." in values["chapter"] else "Chapter"
        assert f"{label} {values['chapter']}</span>" in html_page
        checked.add("chapter")
    if "series" in values:
        assert f'<a href="/series/{slugify(values["series"])}/" data-pagefind-meta="series">' in html_page
        checked.add("series")
    if "macros" in values:  # the post's own, on its page over its series' and the site's
        assert example.nested["macros"] and all(
            macros_on(html_page).get(name) == expansion for name, expansion in example.nested["macros"].items()
        )
        checked.add("macros")
    assert not values.keys() - checked - NOT_SHOWN, "keys of the example with no check here"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "series"], ids=lambda e: e.file or "series")
def test_a_series_example_reaches_its_pages_as_written(built: Path, example: Example) -> None:
    values = example.values
    slug = Path(example.file).stem
    series_page = page(built, f"series/{slug}")
    assert f"{render_title(values['title'])}</h1>" in series_page
    posts = [e for e in EXAMPLES if e.kind == "post" and e.values.get("series") == slug]
    for post in posts:
        post_page = page(built, f"posts/{post.values.get('slug') or Path(post.file).stem}")
        assert f'data-pagefind-meta="series">{render_title(values["title"])}</a>' in post_page
        if "chapters" in values and "." not in post.values.get("chapter", "."):  # "Chapter 3 of 14"; not sections
            assert f"Chapter {post.values['chapter']} of {values['chapters']}" in post_page
        for name, expansion in example.nested.get("macros", {}).items():
            assert macros_on(post_page).get(name) == expansion, name
    if "collection" in values:
        assert f'<a href="/series/{values["collection"]}/">' in series_page
    assert posts or not {"chapters", "macros"} & values.keys(), "no README post example is in this series"
    assert not values.keys() - {"title", "chapters", "macros", "collection"} - NOT_SHOWN, "keys with no check here"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "site"], ids=lambda e: e.file or "site")
def test_a_site_yaml_example_reaches_every_page_as_written(built: Path, example: Example) -> None:
    if example.file != "site.yaml":
        pytest.fail("a second site.yaml example: give it a site of its own in this test")
    values = example.values
    home = page(built, "")
    assert f'<a class="site-title" href="/">{escaped(values["title"])}</a>' in home
    if "description" in values:
        assert f'<meta name="description" content="{html.escape(values["description"])}">' in home
    if "author" in values:
        assert f"<p>{escaped(values['title'])} · {escaped(values['author'])}</p>" in home
    if "language" in values:
        assert f'<html lang="{values["language"]}">' in home
    for name, url in example.nested.get("menu", {}).items():
        assert f'<li><a href="{url}">{escaped(name)}</a></li>' in home, name
    posts = [e for e in EXAMPLES if e.kind == "post"]
    overridden = {n for e in EXAMPLES if e.kind == "series" for n in e.nested.get("macros", {})}
    for name, expansion in example.nested.get("macros", {}).items():
        shown = macros_on(page(built, f"posts/{posts[0].values.get('slug') or Path(posts[0].file).stem}"))
        assert shown.get(name) == expansion or name in overridden, name
    checked = {"title", "description", "author", "language", "menu", "macros"}
    assert not values.keys() - checked - NOT_SHOWN, "keys of the example with no check here"
