"""When may keys be typed into a pane? Pure rules, shared by the planner (to report a
conflict before anything happens) and the applier (to check again at the last moment).

A launch line is typed only where all of these hold:

* the pane's own process is a login shell, and it holds the keyboard (the terminal's
  foreground process group is the shell's: no ``vim``, no ``sleep``, no Claude);
* tmux passes the keys on as typed (no copy mode, no dead pane, input on, not
  synchronised with other panes);
* the command line is provably empty: the logical line under the cursor is exactly the
  prompt this shell draws on an empty line, learned at a moment nothing could have
  been typed (see ``docs/ARCHITECTURE.md``). A prompt we never saw proven is unknown,
  and an unknown prompt is a refusal, never a guess.
"""

from __future__ import annotations

from reconciler.observe import PaneFact

AMBIGUOUS = frozenset({"", ">"})
"""Prompts that are also the shells' default continuation prompt (``PS2='> '``)."""


def line_is_empty(line: str | None, prompt: str | None) -> bool:
    """The cursor's logical line shows the known empty prompt and nothing after it."""
    return line is not None and prompt is not None and line.rstrip() == prompt.rstrip()


def still_a_prompt(known: str | None, line: str) -> bool:
    """May ``line``, drawn by a shell right after a Claude we stopped, be taken as its
    empty prompt, given the one ``known`` for that shell? A prompt may change (a clock,
    an exit status, a git branch), but a line editor can also put text on the fresh line
    by itself (zsh's push-line, bash's Ctrl-O): such a line extends the known prompt, or
    ends in another word than the prompt does. Those are never learned."""
    if known is None:
        return True
    known, line = known.rstrip(), line.rstrip()
    if line == known:
        return True
    if line.startswith(known):
        return False
    return bool(known.split()) and line.split()[-1:] == known.split()[-1:]


def typing_blocker(pane: PaneFact, prompt: str | None) -> str | None:
    """Why nothing may be typed into ``pane`` now, or None when it is safe."""
    where = pane.target
    if pane.claude is not None:
        return f"{where} runs claude pid {pane.claude.pid}"
    if not pane.shell:
        what = pane.foreground or "a program"
        return f"{where} runs {what} as its own process, not a shell"
    if pane.foreground is not None:
        return f"{where} runs {pane.foreground} in the foreground; not typing into it"
    blocked = pane.input.blocks_typing()
    if blocked is not None:
        return f"{where} {blocked}; not typing into it"
    if prompt is None:
        return (f"{where}: its shell's empty prompt was never seen (the reconciler did not"
                " start that shell), so text typed there cannot be ruled out; start claude"
                " there yourself, or close the session and the reconciler will create it")
    if prompt.rstrip() in AMBIGUOUS:
        return (f"{where}: its prompt {prompt!r} looks like a shell's continuation prompt "
                "(PS2), so a fresh line cannot be told from an unfinished command; give "
                "the shell a prompt of its own")
    if pane.line is None:
        return f"{where}: its command line could not be read; retried next cycle"
    if not line_is_empty(pane.line, prompt):
        return (f"{where}: its command line is not the empty prompt seen before (text typed "
                "there, or a prompt that changed); nothing a person typed is ever run: clear "
                "the line (Ctrl-U) and the next cycle launches claude")
    return None
