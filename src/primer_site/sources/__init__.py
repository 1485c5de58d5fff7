"""Sources: the site's files read as documents (site.yaml, discovery, front matter, dates, .bib files, files beside the posts)."""
