"""The theme's templates: the default theme's folder, the site's templates/ over it, read once when an environment
is made (TemplateSnapshot), and which file each template name loads.

A template's fingerprint is the digest of the very text Jinja compiled, so a template saved while a build renders
is a change for the next build. What Jinja compiled is kept in .primer-cache/ (CompiledTemplates), so that a build
in a new process compiles only the templates that changed; without the cache, this process keeps what it compiled
for each site folder (TemplatesInProcess), so that its later builds of that site compile only what changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from stat import S_ISREG

import jinja2

from primer_site.layout import TEMPLATES_DIR
from primer_site.salts import cache_digest, code_salt
from primer_site.store import is_racy, stamp_of


def theme_dir() -> Path:
    """The default theme: inside the installed package, or the repository root in a checkout."""
    package = Path(__file__).resolve().parents[1]  # src/primer_site/, above this stage's folder
    packaged = package / "theme"
    return packaged if packaged.is_dir() else package.parents[1]


def template_folders(source: Path) -> tuple[Path, Path]:
    """Where a template is looked for, in order: the site's templates/, then the theme's."""
    return source / TEMPLATES_DIR, theme_dir() / TEMPLATES_DIR


def template_files(source: Path) -> tuple[tuple[str, str, object], ...]:
    """(name, folder, stamp) of every template file: when this changes, compiled templates are stale.

    Jinja notices an edited template, but not an override added in the site's templates/ for a template it
    loaded from the theme; comparing this listing catches both. A file changed too recently for its stamp to be
    trusted (inputs.is_racy) gets a stamp no other listing holds: its environment is made again next time.
    """
    taken = time.time()
    found = []
    for folder in template_folders(source):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                stamp = stamp_of(path)
                if stamp is None:
                    continue
                relative = os.path.relpath(path, folder).replace(os.sep, "/")
                found.append((relative, str(folder), object() if is_racy(stamp, taken) else stamp))
    return tuple(found)


class TemplateSnapshot(jinja2.BaseLoader):
    """Every file of the site's templates/ and of the theme's (the site's first), read when the loader is made,
    with a digest of each: Jinja compiles from these bytes, and a page's recorded template is this digest.

    Read at once rather than when Jinja first asks, so that render workers forked later see the same text as
    the process that fingerprints it. Lookups follow FileSystemLoader's: links followed, only regular files,
    UTF-8 text with its line endings made "\\n".
    """

    def __init__(self, folders: Sequence[tuple[str, Path]]) -> None:
        """`folders`: (label, folder), looked in in order; the label names where a template came from."""
        self.files: dict[str, tuple[str, str, bytes | OSError]] = {}  # name → (label, file, bytes or why not)
        self._identities: dict[str, tuple[str, str]] = {}
        for label, folder in folders:
            for relative, path, regular in _walk_files(str(folder)):
                if relative in self.files:  # the site's template over the theme's
                    continue
                if not regular:  # never opened (a FIFO would wait for a writer): reported when a page asks for it
                    self.files[relative] = (label, os.path.normpath(path), OSError(0, _NOT_REGULAR))
                    continue
                try:
                    with open(path, "rb") as file:
                        data: bytes | OSError = file.read()
                except FileNotFoundError:  # removed since the walk: absent, as a lookup now would find it
                    continue
                except OSError as error:  # unreadable: reported when a page asks for it
                    data = error
                self.files[relative] = (label, os.path.normpath(path), data)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        found = self.files.get(_template_key(template))
        if found is None:
            raise jinja2.TemplateNotFound(template)
        _, filename, data = found
        # Jinja's loaders raise OSError and UnicodeDecodeError as they are (a traceback): say where, and why
        if isinstance(data, OSError):
            raise jinja2.TemplateSyntaxError(f"cannot read the file: {data.strerror}", 1, template, filename)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            message = f"not valid UTF-8 ({error.reason} at byte {error.start})"
            raise jinja2.TemplateSyntaxError(message, line, template, filename) from None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text, filename, lambda: True  # the snapshot never changes: a new environment reads files again

    def list_templates(self) -> list[str]:
        return sorted(self.files)

    def identity(self, template: str) -> tuple[str, str]:
        """Which file the name loads ("site" or "theme") and a digest of its bytes; ("missing", "") if none,
        ("unreadable", why) for a file that could not be read."""
        found = self._identities.get(template)
        if found is None:
            known = self.files.get(_template_key(template))
            if known is None:
                found = ("missing", "")
            elif isinstance(known[2], OSError):
                found = ("unreadable", str(known[2]))
            else:
                found = (known[0], hashlib.blake2b(known[2], digest_size=16).hexdigest())
            self._identities[template] = found
        return found


def _template_key(template: str) -> str:
    """A template name as the snapshot holds it ("a/./b.html" → "a/b.html"); "" for one no file can have."""
    try:
        return "/".join(jinja2.loaders.split_template_path(template))
    except jinja2.TemplateNotFound:  # ".." in it
        return ""


_NOT_REGULAR = "not a regular file (a FIFO, a device, a socket or a broken link)"


def _walk_files(root: str) -> Iterator[tuple[str, str, bool]]:
    """(name relative to `root` with "/", path, whether it is a regular file) of every file below it, links
    followed, each folder once (a link to a folder above it would otherwise loop). FileSystemLoader skips what is
    not a regular file, so that an override the author put there silently gives way to the theme's template; it
    is listed here, and is an error for the page that asks for it."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames.clear()
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirnames.clear()
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames.sort()
        relative = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                regular = S_ISREG(os.stat(path).st_mode)
            except FileNotFoundError:
                if not os.path.islink(path):  # removed since the folder was listed
                    continue
                regular = False  # a broken link
            except OSError:
                regular = False
            yield (name if relative == "." else f"{relative}/{name}"), path, regular


def template_identity(env: jinja2.Environment, name: str) -> tuple[str, str]:
    """Which file a template name loads in `env` ("site" or "theme", and a digest of the text Jinja compiled);
    ("missing", "") if none. A page depends on this for every template it loads, so an override that appears
    later re-renders it."""
    loader = env.loader
    assert isinstance(loader, TemplateSnapshot), "an environment from make_environment"
    return loader.identity(name)


COMPILED_TEMPLATES_DIR = "compiled-templates"  # in the site's .primer-cache/


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates kept in a folder (.primer-cache/compiled-templates/), one file per template name and file:
    a new process then compiles only the templates whose text changed.

    A file holds a header (this code's salt, the Python version, a digest of the template's text) and the code
    object in marshal's format with a digest of its bytes keyed with this user's key (salts.cache_digest): a
    template edited, another primer-site, Jinja or Python, a damaged file, or one written by anyone else (a
    .primer-cache/ committed to the site's repository: its code would run at build time) is compiled again, never
    loaded (Jinja's own buckets would unpickle the header). Write
    failures are ignored: the cache only saves work.
    """

    _FORMAT = b"primer-site templates 1\n"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loaded = 0  # templates found compiled (the tests count them)
        self.compiled = 0  # templates compiled and kept

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.code"

    def _header(self, bucket: jinja2.bccache.Bucket) -> bytes:
        versions = f"{code_salt()};{sys.version};{bucket.checksum}\n"
        return self._FORMAT + versions.encode("utf-8")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            data = self._path(bucket).read_bytes()
        except OSError:
            return
        header = self._header(bucket)
        digest, body = data[len(header) : len(header) + 16], data[len(header) + 16 :]
        if not data.startswith(header) or cache_digest(body) != digest:
            return
        try:
            bucket.code = marshal.loads(body)
        except (EOFError, ValueError, TypeError, MemoryError):
            return
        self.loaded += 1

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        body = marshal.dumps(bucket.code)
        path = self._path(bucket)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(self._header(bucket) + cache_digest(body) + body)
            os.replace(temporary, path)
            self.compiled += 1
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)


_IN_PROCESS_LIMIT = 4096  # templates kept at most (a few KB of code each): past it, the memo starts afresh
# (site folder, Jinja's key for the name and file, the text's digest) → the code object Jinja compiled
_COMPILED_IN_PROCESS: dict[tuple[str, str, str], object] = {}


class TemplatesInProcess(jinja2.BytecodeCache):
    """What Jinja compiled, kept in this process's memory for one site folder, for builds without the cache
    (`--no-cache`, the tests): a later build of the same site in this process, which makes a new environment,
    compiles only the templates whose text changed. The scope is CompiledTemplates' (one site folder, a template's
    name, file and text; the environment's settings are this code's), so nothing is shared that .primer-cache/
    would not share; nothing is written to disk.
    """

    def __init__(self, source: Path) -> None:
        self.scope = str(source.absolute())

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = _COMPILED_IN_PROCESS.get((self.scope, bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code  # type: ignore[assignment]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if len(_COMPILED_IN_PROCESS) >= _IN_PROCESS_LIMIT:
            _COMPILED_IN_PROCESS.clear()
        _COMPILED_IN_PROCESS[(self.scope, bucket.key, bucket.checksum)] = bucket.code
