"""`python -m primer_site` and the `primer-site` script: Ctrl-C while the program is still loading (its imports
take a few tenths of a second) ends it quietly, as Ctrl-C later does, instead of with a KeyboardInterrupt
traceback from deep inside an import."""

import os
import signal
import sys


def run() -> None:
    signal.signal(signal.SIGINT, _interrupted)  # until cli.main, which handles Ctrl-C itself
    from primer_site.commands.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())


def _interrupted(signum: int, frame: object) -> None:
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)  # nothing is written yet: no clean-up to run


if __name__ == "__main__":
    run()
