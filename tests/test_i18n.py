"""The theme in the site's language: catalogues, plural forms, dates, per-site overrides, warnings, and the pages
re-rendered when a message changes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import babel
import pytest
import yaml

from fixture_sites import build_result, make_site, post
from primer_site import store
from primer_site.commands.build import BuildMemory
from primer_site.errors import Problems, SiteError
from primer_site.rendering.theme import theme_dir
from primer_site.site.i18n import DATE_FORMAT_KEYS, PLURAL_CATEGORIES, load_catalogue, theme_languages
from primer_site.sources.config import SiteConfig

SHIPPED = ("en", "fr", "de", "es", "pt", "zh", "ja")


def catalogue(language: str, source: Path | None = None, problems: Problems | None = None):
    return load_catalogue(
        source or Path("/nonexistent"), SiteConfig(language=language), theme_dir(), problems or Problems()
    )


def shipped(language: str) -> dict:
    return yaml.safe_load((theme_dir() / "i18n" / f"{language}.yaml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the shipped catalogues


def test_the_theme_ships_catalogues_for_at_least_seven_languages() -> None:
    assert set(SHIPPED) <= set(theme_languages(theme_dir()))


@pytest.mark.parametrize("language", SHIPPED)
def test_each_catalogue_has_every_key_its_placeholders_and_its_languages_cldr_plural_forms(language: str) -> None:
    english, messages = shipped("en"), shipped(language)
    assert set(messages) == set(english)
    categories = {*babel.Locale.parse(language).plural_form.tags, "other"}
    for key, message in messages.items():
        if key in DATE_FORMAT_KEYS:
            continue
        wanted = set(re.findall(r"\{(\w+)\}", str(english[key])))
        if isinstance(english[key], dict):
            assert isinstance(message, dict), key
            assert set(message) == categories, (key, sorted(message))  # exactly CLDR's forms for the language
            assert set(message) <= set(PLURAL_CATEGORIES)
            texts = list(message.values())
        else:
            texts = [message]
        for text in texts:  # a plural form may leave its count unsaid ("l’ouvrage", for one)
            found = set(re.findall(r"\{(\w+)\}", text))
            assert found == wanted or (len(texts) > 1 and found == wanted - {"count"}), (key, text)
    problems = Problems()
    catalogue(language, problems=problems)
    assert problems.items == []


# ---------------------------------------------------------------- dates, numbers and plural forms, exactly


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "December 2, 2026"),
        ("fr", "2 décembre 2026"),
        ("de", "2. Dezember 2026"),
        ("es", "2 de diciembre de 2026"),
        ("pt", "2 de dezembro de 2026"),
        ("zh", "2026年12月2日"),
        ("ja", "2026年12月2日"),
    ],
)
def test_dates_in_each_language(language: str, expected: str) -> None:
    assert catalogue(language).date(datetime(2026, 12, 2, 9, 30, tzinfo=UTC)) == expected


def test_date_styles_short_iso_cldr_named_and_patterns() -> None:
    fr = catalogue("fr")
    day = date(2026, 12, 2)
    assert fr.date(day, "short") == "2026-12-02"
    assert fr.date(day, "medium") == "2 déc. 2026"
    assert fr.date(day, "full") == "mercredi 2 décembre 2026"
    assert fr.date(day, "d MMM y") == "2 déc. 2026"
    assert catalogue("de").date(day, "medium") == "02.12.2026"
    assert catalogue("ja").date(day, "full") == "2026年12月2日水曜日"


@pytest.mark.parametrize(
    ("language", "key", "count", "expected"),
    [
        ("en", "reading_time", 1, "1 min read"),
        ("en", "reading_time", 2, "2 min read"),
        ("en", "post_count", 1, "1 post"),
        ("en", "post_count", 0, "0 posts"),
        ("en", "post_count", 1234, "1,234 posts"),
        ("fr", "post_count", 0, "0 article"),  # CLDR: 0 and 1 are "one" in French
        ("fr", "post_count", 1, "1 article"),
        ("fr", "post_count", 2, "2 articles"),
        ("fr", "post_count", 1000000, "1\u202f000\u202f000 d’articles"),  # "many"
        ("fr", "reading_time", 2, "2 min de lecture"),
        ("de", "post_count", 1, "1 Beitrag"),
        ("de", "post_count", 2, "2 Beiträge"),
        ("de", "post_count", 1234, "1.234 Beiträge"),
        ("es", "post_count", 1, "1 artículo"),
        ("es", "post_count", 1000000, "1.000.000 de artículos"),
        ("pt", "post_count", 0, "0 artigo"),
        ("ja", "post_count", 1, "1 件の記事"),
        ("zh", "reading_time", 3, "阅读约需 3 分钟"),
    ],
)
def test_plural_forms(language: str, key: str, count: int, expected: str) -> None:
    assert catalogue(language).plural(key, count) == expected


def test_chapters_published_takes_its_form_from_the_planned_count() -> None:
    en = catalogue("en")
    assert en.plural("chapters_published", 1, published=1) == "1 of 1 chapter published"
    assert en.plural("chapters_published", 6, published=2) == "2 of 6 chapters published"
    assert catalogue("fr").plural("chapters_published", 6, published=2) == "2 sur 6 chapitres publiés"


def test_a_message_escapes_its_values_and_keeps_markup() -> None:
    fr = catalogue("fr")
    assert fr.text("coming_on", date="<b>") == "à paraître le &lt;b&gt;"
    assert fr.numbered("table", "4.1", colon=True) == "Tableau 4.1\u00a0:"
    assert fr.numbered("equation", "10.3") == "Éq. (10.3)"


# ---------------------------------------------------------------- a whole site in French


def french_site(root: Path, language: str = "fr", **files: str) -> Path:
    body2 = (
        "Première phrase.\n\n## Définitions\n\nTexte.\n\n## Propriétés\n\n"
        "$$ H(p) = -\\sum_x p(x) \\log p(x) $$ {#eq:entropie}\n\n"
        "![Courbe](courbe.svg){#fig:courbe}\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n: Valeurs {#tbl:valeurs}\n\n"
        "Voir [](#eq:entropie), [](#fig:courbe) et [](#tbl:valeurs), puis [la suite](c3.md) [@shannon1948].\n\n"
        "::: warning\nAttention au signe.\n:::\n\n::: note Remarque\nUne remarque.\n:::\n\n"
        "::: theorem {#thm:borne} La borne\nUn énoncé.\n:::\n\n::: proof {of=thm:borne}\nÉvident.\n:::\n\n"
        "::: exercise {#exr:calcul} Un calcul\nCalculez.\n:::\n\n::: solution {for=exr:calcul}\nVoici.\n:::\n\n"
        "Par [](#thm:borne), et $\\Ent(p)$.\n"
    )
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    site = {
        "site.yaml": (
            f"title: Le site\nbase_url: https://example.org/\nlanguage: {language}\npaginate: 2\n"
            "description: Des notes\nsearch: false\nbibliography: content/refs.bib\nauthors: [Jeanne Dupont]\n"
        ),
        "content/refs.bib": (
            "@article{shannon1948, author = {Shannon, Claude E.}, title = {Une théorie mathématique},"
            " journal = {Bell}, year = {1948}}\n"
        ),
        "series/s.md": (  # symbols with a meaning: the series has a notation page (one defined in a later chapter)
            "---\ntitle: La série\ncollection: rayon\nchapters: 6\nmacros:\n"
            "  \\Ent: {tex: 'H', means: Entropie, defined: 'c2.md#eq:entropie'}\n"
            "  \\Borne: {tex: 'B', means: La borne, defined: c3.md}\n---\nLa description.\n"
        ),
        "series/rayon.md": "---\ntitle: Le rayon\nkind: collection\n---\nLe rayon.\n",
        "content/c0.md": post("Présentation", "2026-01-01", "Ouverture.", series="s", chapter=0, tags="[alpha]"),
        "content/c1.md": post(
            "Premier", "2026-01-02", "Un.", series="s", chapter=1, tags="[alpha, beta]", category="Maths"
        ),
        "content/c1-5.md": post("Intermède", "2026-01-03", "Entre deux.", series="s", chapter=1.5),
        "content/c2.md": post(
            "Deuxième", "2026-01-04", body2, series="s", chapter=2, tags="[beta]", updated="2026-02-03"
        ),
        "content/courbe.svg": svg,
        "content/c3.md": post("Troisième", "2026-12-02", "Plus tard.", series="s", chapter=3),
        "content/seul.md": post("Seul", "2026-01-05", "Hors série.", tags="[gamma]"),
        "content/autre.md": post("Autre", "2026-01-06", "Encore.", tags="[gamma]"),
    }
    site.update(files)
    return make_site(root, site)


def build(site: Path, memory: BuildMemory | None = None):
    return build_result(site, memory, cache=True, fingerprint=False)


_URL = re.compile(r"https?://\S+")
_SCANNED_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder", "data-messages")


class _Strings(HTMLParser):
    """The text nodes and the readable attributes of a page (not scripts, styles or code)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):  # code is the author's (or BibTeX's), never the theme's words
            self.skipping += 1
        for name, value in attrs:
            if name in _SCANNED_ATTRIBUTES and value:
                self.found.append(value)
        if tag == "meta" and ("name", "description") in attrs:  # what a search engine shows of the page
            self.found.extend(value for name, value in attrs if name == "content" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip() and not _URL.fullmatch(data.strip()):  # an address is no word
            self.found.append(" ".join(data.split()))


def english_leftovers(public: Path, language: str) -> dict[str, set[str]]:
    """key → the strings of the built pages that are that English message, for every key whose message in
    `language` differs from the English one; plus English month names (the dates)."""
    english, other = shipped("en"), shipped(language)
    patterns: dict[str, re.Pattern[str]] = {}
    for key, message in english.items():
        if key in DATE_FORMAT_KEYS or message == other[key]:
            continue
        forms = []
        for text in message.values() if isinstance(message, dict) else [message]:
            literal = [part.strip() for part in re.split(r"\{\w+\}", text) if part.strip()]
            if not literal:
                continue
            form = r".*?".join(re.escape(part) for part in literal)
            # whole words: a form that starts (ends) with a word's letter may not follow (precede) another letter
            start = r"(?<!\w)" if re.match(r"\w", literal[0]) else ""
            end = r"(?!\w)" if re.search(r"\w$", literal[-1]) else ""
            forms.append(f"{start}{form}{end}")
        if any(re.search(r"\w", form) for form in forms):  # not punctuation alone (the caption's colon)
            patterns[key] = re.compile("|".join(forms))
    months = babel.Locale.parse("en").months["format"]["wide"].values()
    patterns["(month)"] = re.compile(rf"\b({'|'.join(months)})\b")
    found: dict[str, set[str]] = {}
    for page in sorted(public.rglob("*.html")):
        strings = _Strings()
        strings.feed(page.read_text(encoding="utf-8"))
        for text in strings.found:
            for key, pattern in patterns.items():
                if pattern.search(text):
                    found.setdefault(key, set()).add(text)
    return found


# English words that are none of French, German or Japanese (nor the fixture's): one on a page is a template's text
_ENGLISH_WORDS = ("the", "of", "and", "this", "these", "what", "where", "each", "every", "with", "to", "on", "by",
                  "defined", "used", "meaning", "whole", "read", "print", "published", "cited")  # fmt: skip


@pytest.mark.parametrize("language", ["fr", "de", "ja"])
def test_a_site_in_another_language_has_no_english_theme_string_left(tmp_path: Path, language: str) -> None:
    site = french_site(tmp_path / "site", language)
    result = build(site)
    assert result.warnings == ()
    public = site / "public"
    for page in ("series/s/notation/index.html", "series/s/print/index.html"):  # the scan reads these too
        assert (public / page).is_file(), page
    assert english_leftovers(public, language) == {}
    # and no English word that no catalogue key holds (a template's literal text): the author wrote French
    words = re.compile(rf"(?<!\w)(?:{'|'.join(_ENGLISH_WORDS)})(?!\w)", re.IGNORECASE)
    left = {}
    for page in sorted(public.rglob("*.html")):
        strings = _Strings()
        strings.feed(page.read_text(encoding="utf-8"))
        found = {text for text in strings.found if words.search(text)}
        if found:
            left[str(page.relative_to(public))] = found
    assert left == {}
    # the scan finds them when they are there: the same site in English shows the English messages
    english = french_site(tmp_path / "english", "en")
    build(english)
    shown = english_leftovers(english / "public", language)
    for key in ("skip_link", "contents", "reading_time", "chapter_of", "coming_on", "page_of", "newer", "older",
                "chapters_published", "post_count", "breadcrumb", "updated", "figure" if language != "fr" else "table",
                "equation", "chapter", "introduction" if language != "fr" else "chapter", "(month)", "tags",
                "heading_anchor", "warning", "notation_meaning", "notation_defined_in", "notation_used_in",
                "notation_line", "notation_out_on", "print_link", "print_line", "print_description",
                "print_online" if language != "de" else "print_link"):  # fmt: skip
        assert key in shown, key


def test_the_french_pages_say_it_in_french(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site")
    build(site)
    public = site / "public"
    page = (public / "posts/c2/index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    assert '<time datetime="2026-01-04">4 janvier 2026</time>' in page
    assert 'mis à jour le <time datetime="2026-02-03">3 février 2026</time>' in page
    assert "· 1 min de lecture" in page
    assert '· <span class="nowrap">Chapitre 2 sur 6</span>' in page
    assert '<h2 id="toc-title">Sommaire</h2>' in page
    assert '<span class="figure-number">Figure 2.1\u00a0:</span> Courbe' in page
    assert '<span class="figure-number">Tableau 2.1\u00a0:</span> Valeurs' in page
    assert 'Voir <a href="#eq:entropie">Éq. (2.1)</a>, <a href="#fig:courbe">Figure 2.1</a>' in page
    assert '<a href="#tbl:valeurs">Tableau 2.1</a>' in page
    assert '<span class="link-scheduled" title="À paraître le 2026-12-02">la suite</span>' in page
    assert '<span class="chapter-nav-label">← Section 1.5</span>' in page
    assert '<span aria-current="page" data-pagefind-meta="chapter">Chapitre 2</span>' in page
    assert '<a class="skip-link" href="#main">Aller au contenu</a>' in page
    assert '<a class="anchor" href="#définitions" aria-label="Lien vers cette section">#</a></h2>' in page
    assert '<p class="admonition-title">Attention</p>' in page  # ::: warning, without a title
    assert '<p class="admonition-title">Remarque</p>' in page  # the author's own title
    assert '<span class="theorem-name">Théorème 2.1</span> <span class="theorem-title">(La borne)' in page
    assert '<span class="theorem-name">Démonstration (<a href="#thm:borne">Théorème 2.1</a>)</span>' in page
    assert '<span class="theorem-name">Solution (<span class="theorem-target">Exercice 2.1</span>)</span>' in page
    assert '<p class="theorem-target-link"><a href="#exr:calcul">Exercice 2.1</a></p>' in page
    assert 'Par <a href="#thm:borne">Théorème 2.1</a>' in page
    assert '<h2 id="references">Références</h2>' in page and '<h2 id="cite-title">Citer</h2>' in page
    assert "Pour citer ce chapitre, utilisez cette entrée BibTeX (aussi dans <a" in page
    references = (public / "series/s/references/index.html").read_text(encoding="utf-8")
    assert '<h1 class="page-title">Références</h1>' in references and "Cité dans <a" in references
    series = (public / "series/s/index.html").read_text(encoding="utf-8")
    assert "2 sur 6 chapitres publiés" in series  # chapters 1 and 2: an introduction and a section are not chapters
    assert '<span class="chapter-number">Introduction</span>' in series
    assert 'à paraître le <time datetime="2026-12-02">2 décembre 2026</time>' in series
    assert "(2 sur 6)" in (public / "series/index.html").read_text(encoding="utf-8")
    tag = (public / "tags/beta/index.html").read_text(encoding="utf-8")
    assert '<span class="taxon-kind">Étiquette\u00a0:</span> beta' in tag and "2 articles" in tag
    assert "1 article<" in (public / "categories/maths/index.html").read_text(encoding="utf-8")
    second = (public / "page/2/index.html").read_text(encoding="utf-8")
    assert "Articles, page 2" in second and "Page 2 sur 3" in second and "← Plus récents" in second
    assert "Page introuvable" in (public / "404.html").read_text(encoding="utf-8")


def test_the_search_box_gives_its_script_the_languages_messages(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site")
    (site / "site.yaml").write_text((site / "site.yaml").read_text().replace("search: false", "search: true"))
    build(site)
    page = (site / "public/index.html").read_text(encoding="utf-8")
    assert 'placeholder="Rechercher"' in page and ">Rechercher dans le site</label>" in page
    found = re.search(r'data-messages="([^"]*)"', page)
    assert found is not None
    import html
    import json

    messages = json.loads(html.unescape(found.group(1)))
    assert messages["search_no_results"] == "Aucun résultat pour «\u00a0{query}\u00a0»"
    assert set(messages["search_results"]) == {"one", "many", "other"}


# ---------------------------------------------------------------- a site's own words, and what is missing


def test_a_sites_catalogue_overrides_and_a_key_the_theme_lacks_is_a_located_warning(tmp_path: Path) -> None:
    site = french_site(
        tmp_path / "site",
        **{"i18n/fr.yaml": "contents: Table des matières\ncontnets: Sommaire\ndate_format: d MMM y\n"},
    )
    result = build(site)
    assert [str(w) for w in result.warnings] == [
        'i18n/fr.yaml:2: warning: contnets: the theme has no message of this name (did you mean "contents"?): '
        "it is not used"
    ]
    page = (site / "public/posts/c2/index.html").read_text(encoding="utf-8")
    assert '<h2 id="toc-title">Table des matières</h2>' in page
    assert '<time datetime="2026-01-04">4 janv. 2026</time>' in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("post_count:\n  one: '{count} billet'\n", "i18n/fr.yaml:1: error: post_count: a plural message needs its 'other' form"),
        ("post_count:\n  two: x\n  other: y\n  lots: z\n", "i18n/fr.yaml:1: error: post_count: lots: a plural form is one of CLDR's"),
        ("contents: 'Sommaire {page}'\n", "i18n/fr.yaml:1: error: contents: {page}: not a placeholder of this message (none)"),
        ("contents: [a, b]\n", "i18n/fr.yaml:1: error: contents: a message is text, or a mapping of plural forms"),
        ("date_format: 'd MMM y HH:mm'\n", "i18n/fr.yaml:1: error: date_format: 'd MMM y HH:mm' is not a CLDR date pattern"),
    ],
)  # fmt: skip
def test_a_malformed_message_is_an_error_at_its_line(tmp_path: Path, text: str, message: str) -> None:
    site = french_site(tmp_path / "site", **{"i18n/fr.yaml": text})
    with pytest.raises(SiteError) as caught:
        build(site)
    assert any(str(d).startswith(message) for d in caught.value.diagnostics), [str(d) for d in caught.value.diagnostics]


def test_a_language_without_a_catalogue_warns_once_at_the_language_line(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site", "eo")
    result = build(site)
    assert len(result.warnings) == 1
    warning = str(result.warnings[0])
    words = sorted(set(shipped("en")) - set(DATE_FORMAT_KEYS))
    assert warning.startswith(
        f"site.yaml:3: warning: language: 'eo': the theme has no catalogue for it: {len(words)} of the theme's "
        f"{len(words)} messages fall back to English ({', '.join(words[:8])} and {len(words) - 8} more); dates and "
        "numbers follow CLDR's 'eo'; add them to i18n/eo.yaml in the site folder (the theme's languages: de, en, es, "
        "fr, ja, pt, zh)"
    ), warning
    page = (site / "public/posts/c2/index.html").read_text(encoding="utf-8")
    assert "Contents" in page and '<html lang="eo">' in page


def test_a_site_catalogue_for_a_new_language_that_has_every_key_warns_nothing(tmp_path: Path) -> None:
    words = dict(shipped("en"), contents="Enhavo", skip_link="Al la enhavo")
    site = french_site(tmp_path / "site", "eo", **{"i18n/eo.yaml": yaml.safe_dump(words, allow_unicode=True)})
    result = build(site)
    assert result.warnings == ()
    assert '<h2 id="toc-title">Enhavo</h2>' in (site / "public/posts/c2/index.html").read_text(encoding="utf-8")


def test_a_regional_tag_finds_its_languages_catalogue(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site", "pt-BR")
    assert build(site).warnings == ()
    page = (site / "public/posts/c2/index.html").read_text(encoding="utf-8")
    assert '<html lang="pt-BR">' in page and "4 de janeiro de 2026" in page and "Sumário" in page


# ---------------------------------------------------------------- incremental builds


def test_an_edited_message_re_renders_exactly_the_pages_that_show_it(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site", **{"i18n/fr.yaml": "contents: Sommaire\n"})
    memory = BuildMemory()
    first = build(site, memory)
    assert len(first.rendered) > 10
    assert build(site, memory).rendered == ()
    (site / "i18n/fr.yaml").write_text("contents: Table des matières\n", encoding="utf-8")
    # the pages with a table of contents: the chapter's and the whole volume's
    assert set(build(site, memory).rendered) == {"posts/c2/index.html", "series/s/print/index.html"}
    (site / "i18n/fr.yaml").write_text("contents: Table des matières\ntag_heading: 'Mot-clé :'\n", encoding="utf-8")
    assert set(build(site, memory).rendered) == {
        "tags/alpha/index.html",
        "tags/beta/index.html",
        "tags/gamma/index.html",
    }
    (site / "i18n/fr.yaml").write_text("contents: Table des matières\ntag_heading: 'Mot-clé :'\ndate_format: full\n")
    dated = set(build(site, memory).rendered)
    assert "posts/c2/index.html" in dated and "series/s/index.html" in dated and "404.html" not in dated
    assert build(site, memory).rendered == ()


def test_a_new_process_notices_an_edited_catalogue_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
    site = french_site(tmp_path / "site", **{"i18n/fr.yaml": "contents: Sommaire\n"})
    build(site)
    again = build(site)
    assert again.site is None and again.written == 0  # nothing changed: stopped before making the model
    (site / "i18n/fr.yaml").write_text("contents: Table des matières\n", encoding="utf-8")
    after = build(site)
    assert after.site is not None and after.written == 2  # the pages with a table of contents (c2's, the print's)
    assert "Table des matières" in (site / "public/posts/c2/index.html").read_text(encoding="utf-8")
    (site / "i18n/de.yaml").write_text("contents: Inhalt\n", encoding="utf-8")  # another language's: no change
    assert build(site).written == 0


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            '{{ t("contnets") }}',
            "templates/404.html:1: error: template: t('contnets'): no message of this name (did you mean \"contents\"?)",
        ),
        ('{{ t("post_count") }}', "templates/404.html:1: error: template: t('post_count'): a plural message: write tn"),
        ('{{ tn("post_count", "x") }}', "templates/404.html:1: error: template: tn('post_count', 'x'): the count must"),
        (
            'x\n{{ site.posts[0].date | date("HH:mm") }}',
            "templates/404.html:2: error: template: date('HH:mm'): not a date",
        ),
    ],
)
def test_a_template_asking_for_a_message_or_format_that_is_not_there_is_a_located_error(
    tmp_path: Path, template: str, message: str
) -> None:
    site = french_site(tmp_path / "site", **{"templates/404.html": template})
    with pytest.raises(SiteError) as caught:
        build(site)
    assert any(str(d).startswith(message) for d in caught.value.diagnostics), [str(d) for d in caught.value.diagnostics]


def test_an_english_site_may_reword_the_theme(tmp_path: Path) -> None:
    site = french_site(tmp_path / "site", "en", **{"i18n/en.yaml": "contents: On this page\n"})
    assert build(site).warnings == ()
    page = (site / "public/posts/c2/index.html").read_text(encoding="utf-8")
    assert '<h2 id="toc-title">On this page</h2>' in page and "January 4, 2026" in page


def test_the_readmes_catalogue_example_is_read_without_a_problem(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```yaml\n(# i18n/(\w+)\.yaml\n.*?)```", readme, re.DOTALL)
    assert found is not None, "the README's Languages section shows a catalogue"
    site = french_site(tmp_path / "site", found.group(2), **{f"i18n/{found.group(2)}.yaml": found.group(1)})
    problems = Problems()
    words = load_catalogue(site, SiteConfig(language=found.group(2)), theme_dir(), problems)
    assert problems.items == []
    assert words.plural("post_count", 3) == "3 billets" and words.text("contents") == "Table des matières"
