"""The reconciler's own state directory. ``StateDir`` owns every file in it (names,
modes, atomic writes); the records are frozen values that check what they read."""

from reconciler.statedir._dir import StateDir
from reconciler.statedir._files import (
    DIR_MODE,
    FILE_MODE,
    UnsafeStateError,
    default_state_dir,
    ensure_private_dir,
    make_private_parents,
    move_aside,
    now_iso,
    open_private,
    read_json,
    read_private,
    read_regular,
    write_atomic,
    write_json,
)
from reconciler.statedir._records import (
    ActiveRecord,
    Converged,
    CrashRecord,
    LaunchRecord,
    LimitRecord,
    PaneBook,
    PromptRecord,
)

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "ActiveRecord",
    "Converged",
    "CrashRecord",
    "LaunchRecord",
    "LimitRecord",
    "PaneBook",
    "PromptRecord",
    "StateDir",
    "UnsafeStateError",
    "default_state_dir",
    "ensure_private_dir",
    "make_private_parents",
    "move_aside",
    "now_iso",
    "open_private",
    "read_json",
    "read_private",
    "read_regular",
    "write_atomic",
    "write_json",
]
