"""The site's folder and file names: where a site keeps its sources, and where builds put what they make.

Imports nothing, so that any module (the watcher, `clean`, the build) reads them without importing the stages that
use them.
"""

from __future__ import annotations

CONFIG_FILE = "site.yaml"  # the site's settings
CONTENT_DIR = "content"  # posts, and the files beside them
SERIES_DIR = "series"  # one file per series or collection: series/<slug>.md
TEMPLATES_DIR = "templates"  # the site's templates, over the theme's
STATIC_DIR = "static"  # copied as they are (CSS and JS fingerprinted), over the theme's
CATALOGUE_DIR = "i18n"  # the theme's words in the site's language: i18n/<language>.yaml, over the theme's
SOURCE_FOLDERS = (
    CONTENT_DIR,
    SERIES_DIR,
    TEMPLATES_DIR,
    STATIC_DIR,
    CATALOGUE_DIR,
)  # what the site is made from, with CONFIG_FILE
OUTPUT_DIR = "public"  # the built site, unless --output says otherwise
CACHE_DIR = ".primer-cache"  # what builds keep to be fast: bodies, formulas, documents, the last build
