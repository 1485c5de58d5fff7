"""The swap: the staging folder exchanged with the live output folder in one step (renameat2's RENAME_EXCHANGE on
Linux), or by three renames that `recover_output` finishes if a build is killed between them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from primer_site.errors import SiteError
from primer_site.publish.output import NEW_MARKER, is_marked, live_folder, mount_point_message, staging_folder

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def recover_output(output: Path) -> None:
    """Finish a two-rename swap that was interrupted; drop leftovers of older builds (and a half-written next
    marker, NEW_MARKER, in the output or staging folder). Only folders that carry the marker are touched."""
    output = live_folder(output)
    staging = staging_folder(output)
    retired = output.parent / f".{output.name}.retired"
    if retired.is_dir() and not retired.is_symlink() and is_marked(retired):
        if output.exists():
            shutil.rmtree(retired, ignore_errors=True)
        else:
            retired.rename(output)
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink() and is_marked(stale):
            shutil.rmtree(stale, ignore_errors=True)
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        staging.unlink()  # claim_output let it through: --force
    for folder in (output, staging):  # a marker a build was killed writing (output.mark): never published
        fresh = folder / NEW_MARKER
        if is_marked(folder) and not folder.is_symlink() and (fresh.is_file() or fresh.is_symlink()):
            fresh.unlink()


def swap_in(staging: Path, output: Path) -> bool:
    """Exchange the folders in one step where the kernel can; else by renames that recover_output can finish. False if
    there was no live folder: the staging folder was renamed into place. SiteError for an output folder that is a
    mount point (a Docker volume, a tmpfs): no rename can replace it."""
    if os.path.ismount(output):
        raise SiteError(mount_point_message(output))
    if not output.exists():
        staging.rename(output)
        return False
    if _exchange(staging, output):
        return True
    retired = output.parent / f".{output.name}.retired"
    output.rename(retired)
    staging.rename(output)
    retired.rename(staging)
    return True


def _exchange(a: Path, b: Path) -> bool:
    import ctypes  # only when a swap is made: a build that writes in place never needs it
    import ctypes.util

    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        renameat2 = ctypes.CDLL(libc_name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0
