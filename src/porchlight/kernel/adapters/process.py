"""Process hardening: what the operating system should refuse to other processes.

The decoder children (``footage.adapters.video``) run FFmpeg on hostile bytes, as the
same user as the server. They get none of the server's environment, but a same-user process can
still read ``/proc/<server>/environ`` (where the settings, the database URL and key
paths were passed) and ``/proc/<server>/mem``, or attach a debugger. Marking the server
non-dumpable makes Linux refuse all of that to processes without CAP_SYS_PTRACE (its
/proc files then belong to root) and stops core dumps, which would hold its keys.
Production turns it on in ``bootstrap.build``; development leaves debuggers working.
"""

from __future__ import annotations

import ctypes
import logging
import sys

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4

log = logging.getLogger(__name__)


def forbid_inspection() -> bool:
    """Make this process non-dumpable (Linux); whether that is now the case."""
    if not sys.platform.startswith("linux"):
        log.warning("process hardening skipped: PR_SET_DUMPABLE exists on Linux only")
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("process hardening failed: prctl errno %d", ctypes.get_errno())
        return False
    return not is_dumpable()


def is_dumpable() -> bool:
    """Whether other processes of this user may inspect this one (Linux)."""
    return ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1
