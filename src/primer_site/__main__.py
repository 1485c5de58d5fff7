"""`python -m primer_site` and the `primer-site` script: Ctrl-C while the program is still loading (its imports
take a few tenths of a second) ends it quietly, as Ctrl-C later does, instead of with a KeyboardInterrupt
traceback from deep inside an import."""

import gc
import os
import signal
import sys

# A build makes a few hundred thousand objects (parsed posts, bodies, the site model), all kept to the end and none
# in a reference cycle worth finding early: at Python's default (a young collection every 700 new objects) a warm
# one-post build at 1,000 posts ran ~350 collections, 0.2 s of its 2.4 s CPU; at this threshold, a handful.
_YOUNG_OBJECTS_PER_COLLECTION = 50_000


def run() -> None:
    signal.signal(signal.SIGINT, _interrupted)  # until cli.main, which handles Ctrl-C itself
    # before the imports too: at the default they ran ~80 collections (~0.03 s), each over a growing heap
    gc.set_threshold(_YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])
    from primer_site.dataclasscode import kept_methods
    from primer_site.regexcode import kept_patterns

    # the methods of the package's dataclasses and the code of the patterns its imports compile: compiled once, kept
    # beside the package's bytecode
    with kept_methods(), kept_patterns():
        from primer_site.commands.cli import main

    gc.freeze()  # what the imports made lives as long as the program: no collection need look at it again
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())


def _interrupted(signum: int, frame: object) -> None:
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)  # nothing is written yet: no clean-up to run


if __name__ == "__main__":
    run()
