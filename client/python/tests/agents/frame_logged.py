"""Runs a Python script as it is, with every ``blackboard.Client`` it makes writing its frames
to FRAME_LOG, so that a test passes them through its frame check.

    frame_logged.py <script.py> [args...]
"""

from __future__ import annotations

import itertools
import runpy
import sys
from typing import Any

import blackboard
from _frame_file import frame_observer

_clients = itertools.count()
_init = blackboard.Client.__init__


def _init_observed(self: blackboard.Client, *args: Any, **options: Any) -> None:
    options.setdefault("frame_observer", frame_observer(next(_clients)))
    _init(self, *args, **options)


blackboard.Client.__init__ = _init_observed  # type: ignore[method-assign]
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
