"""errors.py draws its exception tree in its docstring: the drawing is the code's tree."""

from __future__ import annotations

import inspect
import re

from guestgate import errors

# "├── Name   text" or "│   └── Name   text": the depth is the column the name starts at.
TREE_LINE = re.compile(r"^(?P<indent>[│ ├└─]*)(?P<name>[A-Z][A-Za-z]+)(\s{2,}|$)")


def _classes() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == errors.__name__
    }


def _drawn() -> dict[str, str | None]:
    """Each name in the docstring and the name it hangs under (None at the top level)."""
    parents: dict[str, str | None] = {}
    path: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = TREE_LINE.match(line)
        if match is None:
            continue
        depth = len(match["indent"])
        while path and path[-1][0] >= depth:
            path.pop()
        parents[match["name"]] = path[-1][1] if path else None
        path.append((depth, match["name"]))
    return parents


def test_every_error_class_is_drawn_under_its_base() -> None:
    classes = _classes()
    drawn = _drawn()
    assert set(drawn) == set(classes)
    for name, parent in drawn.items():
        base = classes[name].__bases__[0]
        expected = None if base is Exception else base.__name__
        assert parent == expected, f"{name} is drawn under {parent}, its base is {expected}"


def test_domain_errors_carry_no_http_status() -> None:
    for name, cls in _classes().items():
        fields = set(vars(cls)) | set(inspect.signature(cls.__init__).parameters)
        assert not fields & {"status", "status_code", "http_status"}, name
