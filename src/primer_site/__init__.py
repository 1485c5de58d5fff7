"""primer-site: a static site generator for long-form technical writing published as series."""

__version__ = "0.1.0"
