"""primer-site: a static site generator for long-form technical writing published as series."""

from primer_site import dataclasscode

__version__ = "0.1.0"

# before any module of the package makes its dataclasses: their methods' code is kept across processes
dataclasscode.install()
