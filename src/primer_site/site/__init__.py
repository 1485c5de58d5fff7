"""The site model: documents + bodies → Site (URLs, series order, citations, references, previews, assets)."""
