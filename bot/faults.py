"""Fault points for the fault suite (tests/faults/), honoured only when COULISSE_FAULTS=1: a real
process dies where a crash would hurt most, every time at the same place, instead of a kill
timed from outside that may land anywhere. Nothing here runs unless both variables are set."""

from __future__ import annotations

import os
import signal

_ON = os.environ.get("COULISSE_FAULTS") == "1"
# The Nth reply this start is about to give (its effect committed, nothing said yet): SIGKILL.
_KILL_BEFORE_REPLY = int(os.environ.get("COULISSE_FAULTS_KILL_BEFORE_REPLY") or 0) if _ON else 0
_replies = 0


def before_reply() -> None:
    """Called by the adapters between the commit of an event's effect and its reply."""
    global _replies
    if not _KILL_BEFORE_REPLY:
        return
    _replies += 1
    if _replies == _KILL_BEFORE_REPLY:
        os.kill(os.getpid(), signal.SIGKILL)
