"""YAML reading that remembers where every key stands.

PyYAML's composer keeps node marks; walking the node tree once gives the line of
every key path (for error messages) and catches duplicate keys, which plain
``safe_load`` silently resolves by keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]
MAX_NODES = 100_000
"""Nodes a document may expand to, aliases followed: a "billion laughs" file of 1 KiB
expands to billions, and must fail at once instead of taking gigabytes."""


class TooLargeError(yaml.YAMLError):
    """The document expands (through its aliases) to more nodes than any desired file has."""


@dataclass(frozen=True)
class LocatedDocument:
    data: Any
    lines: dict[KeyPath, int]
    duplicates: list[tuple[KeyPath, int]]

    def line_of(self, path: KeyPath) -> int:
        """Line of ``path`` or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            # a key YAML reads as a number (``5: x``) is a number in the data and in a
            # schema error's path, but the walk keeps every mapping key as text
            for candidate in (path[:cut], tuple(str(p) for p in path[:cut])):
                line = self.lines.get(candidate)
                if line is not None:
                    return line
        return 1


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (~20x faster), else the pure one."""


def load_located(text: str) -> LocatedDocument:
    """Parse one YAML document in one pass: the node tree (with each key's line) is
    walked, then built into data by the same loader; raises ``yaml.YAMLError`` with a
    mark on bad syntax."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        duplicates: list[tuple[KeyPath, int]] = []
        if node is None:
            return LocatedDocument(None, {(): 1}, duplicates)
        _count(node)
        _walk(node, (), lines, duplicates)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return LocatedDocument(data, lines, duplicates)


def _count(root: yaml.Node) -> None:
    """Count the nodes the document expands to, aliases followed, and stop at MAX_NODES:
    iterative, so neither depth nor expansion can take the stack or the memory."""
    total = 0
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        total += 1
        if total > MAX_NODES:
            raise TooLargeError(f"the document expands to more than {MAX_NODES} nodes "
                                "(aliases followed); a desired file is far smaller")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _walk(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    duplicates: list[tuple[KeyPath, int]],
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, duplicates)
