"""Kept code highlights: each code block's `<pre>` across processes (.primer-cache/highlights.sqlite3).

A kept block's `<pre>` is a function of its language and code (markdown_parser.highlight_block), the Pygments version
and the code that calls it (the salt: markdown_parser.highlight_salt); a block whose lexer is a plugin's, or may look
up another lexer (which may be a plugin's) while it runs, is not kept (lexers.keepable_lexer). Kept by a digest of the first two, a build that
renders a post whose code blocks did not change takes them from here: it imports no lexer and compiles none of its
regular expressions (a tenth of a second for Python's, in each new process).

A table made by the store (diskstore.open_salted). Rows carry the stamp of the last build that made or used them; a
build that rendered every post keeps only its blocks, and past twice as many (at least _LEAST_KEPT) the least
recently used are dropped: a site edited for months keeps about its own blocks. What a render makes is stored as it
goes (CodeHighlights.keep), not held to its end.
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
    """Code blocks' `<pre>`s by key; every failure to read it means "not kept" (the block is highlighted again).

    Each row carries the stamp of the last build that made or used it (`stamp`: this build's, one more than any
    kept)."""

    def __init__(self, site: Path) -> None:
        self.db: sqlite3.Connection | None = None
        self.stamp: int | None = None
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
            # this build's stamp (the greatest kept, plus one) and the least recently used rows, found by the index,
            # not a scan of every row (~3 MB of `<pre>`s at 1,000 posts, in every build that renders a block)
            self.db.execute("CREATE INDEX IF NOT EXISTS highlights_by_use ON highlights (used)")
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

    def highlights(self) -> CodeHighlights:
        """A render's highlights: looked up here first, and what it makes stored here as it goes."""
        return CodeHighlights(self.lookup, self.put_many)

    def _stamp(self, db: sqlite3.Connection) -> int:
        if self.stamp is None:
            self.stamp = int(db.execute("SELECT COALESCE(MAX(used), 0) + 1 FROM highlights").fetchone()[0])
        return self.stamp

    def put_many(self, made: dict[str, str]) -> bool:
        """Keep `made` (key → `<pre>`, or the styles' CSS), as used by this build. Whether it was stored."""

        def work(db: sqlite3.Connection) -> None:
            stamp = self._stamp(db)
            db.executemany(
                "INSERT OR REPLACE INTO highlights VALUES (?, ?, ?)", ((k, h, stamp) for k, h in made.items())
            )

        return self.write(work)

    def keep(self, highlights: CodeHighlights, every_post: bool) -> bool:
        """Keep what `highlights` made and has not handed over yet, and mark what it used; `every_post`: the render
        was of every post, so the blocks it made and used are all the site's, and no other block is kept. Past
        twice the blocks of the last such render (at least _LEAST_KEPT), the least recently used are dropped.
        Whether it was stored."""
        if not highlights.made and not highlights.used and not every_post and self.stamp is None:
            return True  # nothing made or used: nothing to mark, nothing grew

        def work(db: sqlite3.Connection) -> None:
            stamp = self._stamp(db)
            rows = ((k, h, stamp) for k, h in highlights.made.items())
            db.executemany("INSERT OR REPLACE INTO highlights VALUES (?, ?, ?)", rows)
            db.executemany("UPDATE highlights SET used = ? WHERE key = ?", ((stamp, k) for k in highlights.used))
            if every_post:
                db.execute(
                    "DELETE FROM highlights WHERE used < ? AND key NOT LIKE 'css %'", (stamp,)
                )  # styles: no block
                db.execute("DELETE FROM filled")
                db.execute("INSERT INTO filled SELECT COUNT(*) FROM highlights WHERE key NOT LIKE 'css %'")
            filled = db.execute("SELECT COALESCE(MAX(blocks), 0) FROM filled").fetchone()[0]
            cap = max(_LEAST_KEPT, 2 * int(filled))
            count = int(db.execute("SELECT COUNT(*) FROM highlights").fetchone()[0])
            if count > cap:
                db.execute(
                    "DELETE FROM highlights WHERE key IN (SELECT key FROM highlights ORDER BY used LIMIT ?)",
                    (count - cap,),
                )

        stored = self.write(work)
        highlights.made = {}
        return stored


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
            table.put_many({key: css})
        return css
    finally:
        table.close()
