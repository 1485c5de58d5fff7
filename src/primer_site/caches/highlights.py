"""Kept code highlights: each code block's `<pre>` across processes (.primer-cache/highlights.sqlite3).

A block's `<pre>` is a function of its language and code (markdown_parser.highlight_block), the Pygments version and
the code that calls it (the salt: markdown_parser.highlight_salt). Kept by a digest of the first two, a build that
renders a post whose code blocks did not change takes them from here: it imports no lexer and compiles none of its
regular expressions (a tenth of a second for Python's, in each new process).

A table made by the store (diskstore.open_salted). Rows carry the stamp of the last build that used them; the least
recently used are dropped past twice the blocks of the last build that rendered every post (at least _LEAST_KEPT),
so that a site edited for months keeps about its own blocks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from primer_site.diskstore import CacheTables, open_salted
from primer_site.layout import CACHE_DIR
from primer_site.syntax.markdown import CodeHighlights, highlight_css, highlight_salt

_FILE = "highlights.sqlite3"
_FORMAT = 1
_LEAST_KEPT = 4096  # rows kept whatever the last full build made: a small site's edits never thrash it


class HighlightTable(CacheTables):
    """Code blocks' `<pre>`s by key; every failure to read it means "not kept" (the block is highlighted again)."""

    def __init__(self, site: Path) -> None:
        self.db: sqlite3.Connection | None = None
        path = site / CACHE_DIR / _FILE
        try:
            path.parent.mkdir(exist_ok=True)
            self.db = open_salted(
                path,
                f"format={_FORMAT};{highlight_salt()}",
                "highlights",
                "key TEXT PRIMARY KEY, html TEXT NOT NULL, used INTEGER NOT NULL",
                durable=False,  # a cache: a row lost to a power cut is highlighted again
                more={"filled": "blocks INTEGER NOT NULL"},
            )
        except (OSError, sqlite3.Error):
            self.db = None

    def lookup(self, key: str) -> str | None:
        """The kept `<pre>` of `key`, or None."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT html FROM highlights WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None and isinstance(row[0], str) else None

    def put(self, key: str, html: str) -> bool:
        """Keep one `<pre>` (or the styles' CSS) under `key`, as used now. Whether it was stored."""

        def work(db: sqlite3.Connection) -> None:
            stamp = int(db.execute("SELECT COALESCE(MAX(used), 0) + 1 FROM highlights").fetchone()[0])
            db.execute("INSERT OR REPLACE INTO highlights VALUES (?, ?, ?)", (key, html, stamp))

        return self.write(work)

    def highlights(self) -> CodeHighlights:
        """A render's highlights, looked up here first."""
        return CodeHighlights(self.lookup)

    def keep(self, highlights: CodeHighlights, every_post: bool) -> bool:
        """Keep what `highlights` made and mark what it used; `every_post`: the render was of every post, so what
        it made and used is all the site's blocks, and nothing else is kept. Whether it was stored."""
        if not highlights.made and not highlights.used and not every_post:
            return True

        def work(db: sqlite3.Connection) -> None:
            stamp = int(db.execute("SELECT COALESCE(MAX(used), 0) + 1 FROM highlights").fetchone()[0])
            if every_post:
                used = list(highlights.used.items())
                db.execute("DELETE FROM highlights WHERE key NOT LIKE 'css %'")  # the styles are no block
                db.execute("DELETE FROM filled")
                db.execute("INSERT INTO filled VALUES (?)", (len(highlights.made) + len(used),))
                rows = [*highlights.made.items(), *used]
            else:
                rows = list(highlights.made.items())
                db.executemany("UPDATE highlights SET used = ? WHERE key = ?", ((stamp, k) for k in highlights.used))
            db.executemany("INSERT OR REPLACE INTO highlights VALUES (?, ?, ?)", ((k, h, stamp) for k, h in rows))
            filled = db.execute("SELECT COALESCE(MAX(blocks), 0) FROM filled").fetchone()[0]
            cap = max(_LEAST_KEPT, 2 * int(filled))
            count = int(db.execute("SELECT COUNT(*) FROM highlights").fetchone()[0])
            if count > cap:
                db.execute(
                    "DELETE FROM highlights WHERE key IN (SELECT key FROM highlights ORDER BY used LIMIT ?)",
                    (count - cap,),
                )

        return self.write(work)


def kept_highlight_css(site: Path, light: str, dark: str) -> str:
    """highlight_css(light, dark), kept in the site's table: a build in a new process loads no Pygments formatter
    or style for it while Pygments and the code that makes it are the same. For Pygments' own styles only (the
    caller's to say): a plugin's style can change while Pygments' version, in the salt, does not."""
    table = HighlightTable(site)
    key = f"css {light} {dark}"  # a block's key is hexadecimal
    try:
        css = table.lookup(key)
        if css is None:
            css = highlight_css(light, dark)
            table.put(key, css)
        return css
    finally:
        table.close()
