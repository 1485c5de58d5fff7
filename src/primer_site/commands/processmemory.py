"""What a build in a process of one command (`primer-site build`, which __main__ starts by freezing what its imports
made) does with its memory: what the read stage made is left out of the collector's walks (it lives to the end),
and the posts' Markdown is let go once nothing after it reads it. The dev server and a build called by a longer
program (the tests) keep to Python's defaults.
"""

from __future__ import annotations

import gc

from primer_site.store import Store


def one_command(incremental: bool) -> bool:
    """Whether what the read stage makes lives to the end of the process: a build in a process of one command
    (__main__ froze what its imports made), not the dev server's nor one called by a longer program."""
    return not incremental and gc.get_freeze_count() > 0


def read_for_good() -> None:
    """In a process of one command (__main__ froze what its imports made), what the read stage made lives to the
    end: the collector is told never to walk it (gc.freeze: the objects move to its permanent generation, and the
    young objects' count starts again from 0). They are acyclic rows (documents, bodies) that reference counting
    frees when let go. Without it, at 1,000 posts, the one young collection of a one-edit build walked them all
    (~50,000 objects, 20-30 ms), on the first posts the assembly made. The dev server and a build called in a
    longer process (tests) freeze nothing: garbage in a reference cycle would be kept to their end. A pool of
    workers unfreezes everything when it ends (workers.heap_frozen), so in a build that forks one (a cold build,
    many pages to render) the freeze lasts only until then: the one-edit build, which forks none, keeps it."""
    gc.freeze()


def without_markdown(memory: Store) -> None:
    """The documents let go, with their Markdown, by a build in a new process once its bodies, formulas and notation
    are made: the store, which lives for this one build, lets go of what only it held (the bodies' memo holds every
    document), and the caller of what it held (the page owners, outputpaths.page_owners, read only each post's key
    lines, kept apart: no copy of each document without its Markdown, ~5 us a post). At 5,000 posts the Markdown is
    ~40 MB that the render stage, and each worker forked for it, would otherwise carry to the end.
    The build-time typesetter keeps the documents it was given (it searches their Markdown for raw HTML)."""
    memory.let_go()
