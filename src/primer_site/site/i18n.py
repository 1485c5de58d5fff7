"""The theme's words in the site's language: one message catalogue per language, plural forms and dates by CLDR.

The theme ships a catalogue per language, `i18n/<language>.yaml` beside its templates; a site's own
`i18n/<language>.yaml` overrides or adds keys. A message is text with `{name}` placeholders, or a mapping of CLDR
plural categories (zero, one, two, few, many, other) to such texts, chosen by a count with the language's CLDR
plural rule. Dates and numbers are formatted by Babel (the Unicode CLDR's data): "2 décembre 2026", "2026年12月2日".

The catalogue is read once per build (load_catalogue); what a page reads of it is recorded key by key by the
theme (theme.py), so an edited message re-renders the pages that show it and no others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import babel
import babel.dates
import babel.numbers
import jinja2
from markupsafe import Markup, escape

from primer_site.caches.dependencies import record
from primer_site.errors import Problems, SiteError
from primer_site.layout import CATALOGUE_DIR
from primer_site.model import ChapterNumber
from primer_site.sources.config import CONFIG_FILE, SiteConfig
from primer_site.sources.sharedkeys import suggest
from primer_site.sources.yamldoc import load_yaml_mapping
from primer_site.syntax.inline import plain_title

ENGLISH = "en"
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")  # CLDR's, in its order
DATE_FORMAT_KEY = "date_format"  # a message that is a date format, not text: short, medium, long, full or a pattern
REFERENCE_DATE_KEY = "reference_date_format"  # the date in "Theorem 10.2, in Chapter 10, out on 12 March 2026"
DATE_FORMAT_KEYS = (DATE_FORMAT_KEY, REFERENCE_DATE_KEY)
DATE_STYLES = ("medium", "long", "full")  # CLDR's named date formats; "short" is ISO 8601 (2026-12-02)
LOCALE_KEY = ":locale"  # the dependency on the language's CLDR data (dates, numbers, plural rule)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

Message = str | tuple[tuple[str, str], ...]  # text, or (CLDR plural category, text) pairs


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The messages of one language (the theme's, the site's over them, English for what neither has), and the
    CLDR locale that formats its dates, numbers and plural forms."""

    language: str  # as site.yaml gives it: "fr", "pt-BR"
    messages: Mapping[str, Message]
    locale: babel.Locale
    english: Mapping[str, Message] = field(default_factory=dict, repr=False)  # the theme's English messages
    _dates: dict[tuple[object, str], str] = field(default_factory=dict, repr=False)  # (date, format) → text
    _numbers: dict[int, str] = field(default_factory=dict, repr=False)
    _made: dict[tuple, Markup] = field(default_factory=dict, repr=False)  # a page's words, made once per build

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Catalogue):
            return NotImplemented
        return (self.language, dict(self.messages), str(self.locale)) == (
            other.language,
            dict(other.messages),
            str(other.locale),
        )

    def __hash__(self) -> int:
        return hash((self.language, tuple(sorted(self.messages.items())), str(self.locale)))

    def words(self, keys: tuple[str, ...]) -> tuple[Message | None, ...] | None:
        """These keys' messages, or None where each is its English one (nothing to translate)."""
        found = tuple(self.messages.get(key) for key in keys)
        return None if found == tuple(self.english.get(key) for key in keys) else found

    def fingerprint_of(self, key: str) -> object:
        """What a page that read `key` depends on: the message (LOCALE_KEY: the CLDR locale's name)."""
        return str(self.locale) if key == LOCALE_KEY else self.messages.get(key)

    def text(self, key: str, **values: object) -> Markup:
        """The message `key`, HTML-escaped, its `{name}` placeholders filled with `values` (escaped unless Markup;
        numbers formatted for the language). KeyError for a key no catalogue has (a template's mistake)."""
        memo = (key, None, *((name, type(value), value) for name, value in values.items())) if values else key
        found = self._made.get(memo)
        if found is None:
            message = self.messages[key]
            if not isinstance(message, str):
                raise KeyError(f"{key!r} is a plural message: give it a count")
            found = self._made[memo] = self._fill(message, values)
        return found

    def plural(self, key: str, count: int, **values: object) -> Markup:
        """The form of plural message `key` that the language's CLDR rule chooses for `count` ("1 min read",
        "2 min read"), with `{count}` and the other placeholders filled."""
        memo = (key, count, *((name, type(value), value) for name, value in values.items()))
        found = self._made.get(memo)
        if found is None:
            message = self.messages[key]
            if not isinstance(message, str):
                forms = dict(message)
                message = forms.get(self.locale.plural_form(count), forms["other"])
            found = self._made[memo] = self._fill(message, {"count": count, **values})
        return found

    def number(self, value: int) -> str:
        """An integer in the language's digits and grouping (1,234 · 1 234 · 1.234)."""
        found = self._numbers.get(value)
        if found is None:
            found = self._numbers[value] = babel.numbers.format_decimal(value, locale=self.locale)
        return found

    def date(self, value: datetime | date, style: str | None = None) -> str:
        """`value` formatted for the language: `style` is "short" (ISO 8601, 2026-12-02), "medium", "long",
        "full" (CLDR's formats), or a CLDR pattern ("d MMM y"); None takes the catalogue's `date_format`."""
        style = style or str(self.messages.get(DATE_FORMAT_KEY, "long"))
        day = value.date() if isinstance(value, datetime) else value
        found = self._dates.get((day, style))
        if found is None:
            found = day.isoformat() if style == "short" else babel.dates.format_date(day, style, locale=self.locale)
            self._dates[(day, style)] = found
        return found

    def chapter_label(self, chapter: ChapterNumber | None, title: str | None = None) -> str:
        """ "Chapter 3", "Section 1.3", "Introduction" (chapter 0), in the language; "" for no chapter, and ""
        when `title` (the post's title as written, Markdown) says it already: "Chapter 3 — Attention" is not shown
        as "Chapter 3 Chapter 3 — Attention" in a table of contents."""
        if chapter is None:
            return ""
        if chapter.is_introduction:
            label = str(self.text("introduction"))
        else:
            label = str(self.text("section" if chapter.is_section else "chapter", number=chapter.text))
        return "" if title is not None and plain_title(title).startswith(label) else label

    def numbered(self, kind: str, number: str, colon: bool = False) -> str:
        """A numbered thing's name as HTML: "Figure 4.2", "Table 4.1" (`colon`: "Table 4.1:", before a caption),
        "Eq. (10.3)"; `kind` is "figure", "table" or "equation", `number` HTML already."""
        found = self.text(kind, number=Markup(number))
        return str(found + self.text("caption_colon") if colon else found)

    def _fill(self, message: str, values: Mapping[str, object]) -> Markup:
        def value(match: re.Match[str]) -> str:
            found = values.get(match.group(1))
            if found is None:
                return match.group(0)
            if isinstance(found, int) and not isinstance(found, bool):
                return self.number(found)
            return str(escape(found))

        return Markup(_PLACEHOLDER.sub(value, str(escape(message))))


def template_helpers(words: Catalogue) -> dict[str, Callable[..., Any]]:
    """The templates' words: `t(key, name=value…)` a message, `tn(key, count, …)` its plural form for `count`,
    `chapter_label(number[, title])` "Chapter 3" ("" when the title says it), `messages(key…)` raw messages as JSON (for scripts). Each records the keys
    it reads (and the locale, where numbers are formatted), so an edited message re-renders the pages that show it."""

    def t(key: str, **values: object) -> Markup:
        record(("i18n", key))
        if any(isinstance(v, int) for v in values.values()):
            record(("i18n", LOCALE_KEY))
        message = words.messages.get(key)
        if not isinstance(message, str):
            raise _unknown("t", key, words, "a plural message: write tn(key, count)" if message else "")
        return words.text(key, **values)

    def tn(key: str, count: int, **values: object) -> Markup:
        record(("i18n", key))
        record(("i18n", LOCALE_KEY))
        if key not in words.messages:
            raise _unknown("tn", key, words)
        if not isinstance(count, int) or isinstance(count, bool):
            raise jinja2.TemplateRuntimeError(f"tn({key!r}, {count!r}): the count must be a whole number")
        return words.plural(key, count, **values)

    def chapter_label(chapter: ChapterNumber | None, title: str | None = None) -> str:
        if chapter is not None:
            record(
                ("i18n", "introduction" if chapter.is_introduction else "section" if chapter.is_section else "chapter")
            )
        return words.chapter_label(chapter, title)

    def messages(*keys: str) -> str:
        for key in keys:
            record(("i18n", key))
            if key not in words.messages:
                raise _unknown("messages", key, words)
        found = {key: words.messages[key] for key in keys}
        return json.dumps({k: v if isinstance(v, str) else dict(v) for k, v in found.items()}, ensure_ascii=False)

    return {"t": t, "tn": tn, "chapter_label": chapter_label, "messages": messages}


def date_filter(words: Catalogue) -> Callable[..., str]:
    """`value | date`: the catalogue's date format; `value | date("short")` ISO 8601, "medium", "long", "full"
    CLDR's formats for the language, or a CLDR pattern (`date("d MMM y")`)."""

    def date(value: datetime, style: str | None = None) -> str:
        record(("i18n", LOCALE_KEY))
        if style is None:
            record(("i18n", DATE_FORMAT_KEY))
        try:
            return words.date(value, style)
        except (ValueError, KeyError, AttributeError, TypeError):  # Babel's words for a pattern it cannot apply
            raise jinja2.TemplateRuntimeError(
                f"date({style!r}): not a date format: write short, medium, long, full, or a CLDR pattern of a day "
                "such as 'd MMMM y'"
            ) from None

    return date


def _unknown(helper: str, key: str, words: Catalogue, why: str = "") -> jinja2.TemplateRuntimeError:
    """A template's call naming a message the catalogues do not have (or of the wrong kind)."""
    if why:
        return jinja2.TemplateRuntimeError(f"{helper}({key!r}): {why}")
    return jinja2.TemplateRuntimeError(
        f"{helper}({key!r}): no message of this name{suggest(key, list(words.messages))} (the theme's are in "
        f"{CATALOGUE_DIR}/{ENGLISH}.yaml; a site adds its own in {CATALOGUE_DIR}/<language>.yaml)"
    )


def theme_catalogue_dir(theme: Path) -> Path:
    """Where the theme keeps its catalogues (theme.theme_dir() gives `theme`)."""
    return theme / CATALOGUE_DIR


def theme_languages(theme: Path) -> list[str]:
    """The languages the theme has a catalogue for, sorted."""
    return sorted(p.stem for p in theme_catalogue_dir(theme).glob("*.yaml"))


def load_catalogue(source: Path, config: SiteConfig, theme: Path, problems: Problems) -> Catalogue:
    """The catalogue of `config.language`: English, under the theme's catalogue of the language, under the site's
    `i18n/<language>.yaml`. Read once per build.

    A language is looked for by its whole tag ("pt-br.yaml", case and "-"/"_" aside), then by its first subtag
    ("pt.yaml"). Problems go to `problems`: a site key the English catalogue does not have, and a malformed
    message, at their line of the site's file; a language whose catalogues leave keys in English, once, at the
    `language` line of site.yaml, naming them.
    """
    language = config.language
    english_file = theme_catalogue_dir(theme) / f"{ENGLISH}.yaml"
    english = _read(english_file, f"{english_file}", None, problems) or {}
    messages: dict[str, Message] = dict(english)
    theme_file = _find(theme_catalogue_dir(theme), language)
    own: set[str] = set(english) if theme_file is not None and theme_file.stem == ENGLISH else set()
    if theme_file is not None and theme_file.stem != ENGLISH:
        found = _read(theme_file, str(theme_file), english, problems) or {}
        messages.update(found)
        own.update(found)
    site_file = _find(source / CATALOGUE_DIR, language)
    if site_file is not None:
        shown = site_file.relative_to(source).as_posix()
        found = _read(site_file, shown, english, problems) or {}
        messages.update(found)
        own.update(found)
    locale = _locale(language)
    missing = sorted(set(english) - own - set(DATE_FORMAT_KEYS))
    if missing and language.lower().replace("_", "-").split("-")[0] != ENGLISH:
        dates = f"dates and numbers follow CLDR's {str(locale)!r}" if str(locale) != ENGLISH else "so do dates"
        names = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        what = "the theme has no catalogue for it" if theme_file is None else "its catalogues leave keys out"
        problems.warning(
            f"language: {language!r}: {what}: {len(missing)} of the theme's {len(set(english) - set(DATE_FORMAT_KEYS))} "
            f"messages fall back to "
            f"English ({names}); {dates}; add them to {CATALOGUE_DIR}/{language}.yaml in the site folder "
            f"(the theme's languages: {', '.join(theme_languages(theme))})",
            CONFIG_FILE,
            _config_line(source),
        )
    return Catalogue(language, messages, locale, english)


def _locale(language: str) -> babel.Locale:
    """The CLDR locale of a language tag ("pt-BR" → pt_BR), English when CLDR does not know it."""
    try:
        return babel.Locale.parse(language.replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return babel.Locale.parse(ENGLISH)


def _find(folder: Path, language: str) -> Path | None:
    """The catalogue file of `language` in `folder`: its whole tag, then its first subtag; None if neither."""
    if not folder.is_dir():
        return None
    files = {p.stem.lower().replace("_", "-"): p for p in sorted(folder.glob("*.yaml"))}
    tag = language.lower().replace("_", "-")
    return files.get(tag) or files.get(tag.split("-")[0])


def _read(
    path: Path, shown: str, english: Mapping[str, Message] | None, problems: Problems
) -> dict[str, Message] | None:
    """The messages of one catalogue file, checked against the English one (None: this is the English one)."""
    try:
        text = path.read_text(encoding="utf-8")
        mapping = load_yaml_mapping(text, shown)
    except OSError as error:
        problems.error(f"cannot read the catalogue: {error.strerror}", shown)
        return None
    except UnicodeDecodeError as error:
        problems.error(f"not valid UTF-8 ({error.reason} at byte {error.start})", shown)
        return None
    except SiteError as error:
        problems.extend(error.diagnostics)
        return None
    found: dict[str, Message] = {}
    for key, value in mapping.data.items():
        line = mapping.line_of(key)
        if english is not None and key not in english:
            near = suggest(key, list(english))
            problems.warning(f"{key}: the theme has no message of this name{near}: it is not used", shown, line)
            continue
        message = _message(key, value, english.get(key) if english is not None else None)
        if isinstance(message, str) and message.startswith("\x00"):
            problems.error(f"{key}: {message[1:]}", shown, line)
            continue
        found[key] = message
    return found


def _message(key: str, value: Any, english: Message | None) -> Message:
    """A message as the catalogue holds it, or "\\x00" and why it is refused."""
    if key in DATE_FORMAT_KEYS:
        if not isinstance(value, str) or not value.strip():
            return "\x00write a date format: short, medium, long, full, or a CLDR pattern such as 'd MMMM y'"
        if value not in ("short", *DATE_STYLES):
            try:
                babel.dates.format_date(date(2026, 12, 2), value, locale=ENGLISH)
            except (ValueError, KeyError, AttributeError, TypeError):  # a time's field (H, m, z…) in a date's
                return f"\x00{value!r} is not a CLDR date pattern of a day (d, M, y, E…; quote text as 'de')"
        return value
    if isinstance(value, str):
        message: Message = value
    elif isinstance(value, dict):
        unknown = [str(k) for k in value if k not in PLURAL_CATEGORIES]
        if unknown:
            return f"\x00{', '.join(unknown)}: a plural form is one of CLDR's {', '.join(PLURAL_CATEGORIES)}"
        if "other" not in value:
            return "\x00a plural message needs its 'other' form (CLDR's, used for any count no other form takes)"
        if not all(isinstance(v, str) for v in value.values()):
            return "\x00each plural form is text"
        message = tuple((c, value[c]) for c in PLURAL_CATEGORIES if c in value)
    else:
        return "\x00a message is text, or a mapping of plural forms (one: …, other: …)"
    if english is not None:
        wanted = _names(english)
        texts = [message] if isinstance(message, str) else [text for _, text in message]
        for text in texts:
            extra = _names(text) - wanted
            if extra:
                known = ", ".join("{" + n + "}" for n in sorted(wanted)) or "none"
                return f"\x00{', '.join('{' + n + '}' for n in sorted(extra))}: not a placeholder of this message ({known})"
    return message


def _names(message: Message) -> set[str]:
    texts = [message] if isinstance(message, str) else [text for _, text in message]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def _config_line(source: Path) -> int:
    """The line of `language:` in site.yaml (1 if it cannot be read again, or is not there)."""
    try:
        text = (source / CONFIG_FILE).read_text(encoding="utf-8")
        return load_yaml_mapping(text, CONFIG_FILE).line_of("language") or 1
    except (OSError, UnicodeDecodeError, SiteError):
        return 1
