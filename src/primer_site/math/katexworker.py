"""katex_worker.js under Node: one process, asked batches of formulas as JSON lines, one answer line per formula
back (KaTeX's own, not yet cleaned). KatexError when Node cannot start, ends, answers what it was not asked, or
takes longer than TIMEOUT."""

from __future__ import annotations

import collections
import json
import os
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from primer_site.math.katexsetup import KatexSetup

if TYPE_CHECKING:
    import subprocess

KATEX_WORKER_JS = Path(__file__).with_name("katex_worker.js")


TIMEOUT = 600.0  # seconds for one batch: KaTeX takes about 40 ms per thousand distinct formulas


Macros = tuple[tuple[str, str], ...]


FormulaKey = tuple[str, bool, str]  # (TeX, display, id of its macros: FormulaRequests.macros_id)


class KatexError(Exception):
    """KaTeX cannot run here, or did not answer: the reason, in words for the person building the site."""


class KatexWorker:
    """katex_worker.js under Node: batches of JSON lines in, one answer line per formula out."""

    def __init__(self, setup: KatexSetup) -> None:
        # subprocess and selectors (~4 ms) load with the first worker: a build that asks KaTeX nothing starts none
        import subprocess

        self.setup = setup
        try:
            self.process = subprocess.Popen(
                [str(setup.node), str(KATEX_WORKER_JS), str(setup.katex)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise KatexError(f"could not run {setup.node}: {exc.strerror}") from None
        # a build that fails before asking, or a caller that forgets to close, must not leave Node waiting
        self._finalizer = weakref.finalize(self, _stop, self.process)
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self._lines: collections.deque[bytes] = collections.deque()  # read, not yet taken
        self._partial = b""  # the start of a line not yet read whole
        self._defined: set[str] = set()  # macros ids this process knows
        self._next = 0
        self._greeted = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(
        self, keys: list[FormulaKey], macros: dict[str, Macros], wants: dict[FormulaKey, str]
    ) -> dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]]:
        """(error, MathML or None, HTML or None, its fonts) for each key, as `wants` says: KaTeX's own, not yet
        cleaned."""
        deadline = time.monotonic() + TIMEOUT
        if not self._greeted:
            greeting = self._read_line(deadline)
            version = greeting.get("katex")
            if version != self.setup.version:
                raise KatexError(
                    f"{self.setup.katex} says it is KaTeX {version}, but its package.json says {self.setup.version}"
                )
            self._greeted = True
        lines = []
        for macros_id in {key[2] for key in keys} - self._defined:
            lines.append(json.dumps({"macros": macros_id, "define": dict(macros[macros_id])}))
            self._defined.add(macros_id)
        first = self._next
        for number, (tex, display, macros_id) in enumerate(keys, start=first):
            want = wants[(tex, display, macros_id)]
            lines.append(json.dumps({"id": number, "tex": tex, "display": display, "macros": macros_id, "want": want}))
        self._next = first + len(keys)
        lines.append(json.dumps({"sync": self._next}))
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        # written from a thread: Node answers while it reads, and a full pipe either way must not stall both
        writer = threading.Thread(target=self._write, args=(data,), daemon=True)
        writer.start()
        answers: dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]] = {}
        while True:
            answer = self._read_line(deadline)
            if answer.get("sync") == self._next:
                break
            number = int(answer["id"]) - first
            if not 0 <= number < len(keys):
                raise KatexError(f"KaTeX answered a formula it was not asked about ({answer['id']})")
            fonts = tuple(str(font) for font in answer.get("fonts", ()))
            answers[keys[number]] = (answer.get("error"), answer.get("mathml"), answer.get("html"), fonts)
        writer.join()
        if len(answers) != len(keys):
            raise KatexError(f"KaTeX answered {len(answers)} of {len(keys)} formulas")
        return answers

    def _write(self, data: bytes) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # Node ended: the reader says why

    def _read_line(self, deadline: float) -> dict:
        import selectors  # see __init__

        stdout = self.process.stdout
        assert stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while not self._lines:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    _stop(self.process)
                    raise KatexError(f"KaTeX took more than {TIMEOUT:.0f} s")
                chunk = os.read(stdout.fileno(), 1 << 16)
                if not chunk:
                    self.process.wait()
                    self._stderr_reader.join(timeout=5)  # what Node said before it ended
                    detail = self._stderr[-1] if self._stderr else f"exit status {self.process.returncode}"
                    raise KatexError(f"KaTeX could not run under {self.setup.node}: {detail}")
                *lines, self._partial = (self._partial + chunk).split(b"\n")
                self._lines.extend(lines)
        line = self._lines.popleft()
        try:
            return json.loads(line)
        except ValueError:
            raise KatexError(f"KaTeX wrote what is not an answer: {line[:200]!r}") from None

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self._stderr.append(text)

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Close Node's input (it then ends by itself) and wait for it; kill it if it does not end soon."""
    import subprocess  # loaded already: a worker was started

    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
