"""Markdown and math syntax: a body → HTML, headings, labels, links and formulas (the only users of markdown-it)."""
