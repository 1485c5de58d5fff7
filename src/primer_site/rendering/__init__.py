"""Rendering: Site + theme → outputs (path, bytes): pages, feeds, the print volume; writes nothing."""
