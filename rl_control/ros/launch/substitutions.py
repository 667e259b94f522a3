"""Substitutions of the launch XML front end: `$(var x)`, `$(env X [default])`,
`$(find-pkg-share pkg)`, `$(eval expr)` (the subset of rl_control.ros.launch.expression);
the grammar follows launch's `grammar.lark` (quoted and nested arguments, backslash
escapes), every other substitution is refused by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rl_control.ros.launch.expression import evaluate_expression
from rl_control.ros.launch.model import LaunchError

SUPPORTED = ("var", "env", "find-pkg-share", "eval")
_ARITY = {"var": (1, 2), "env": (1, 2), "find-pkg-share": (1, 1), "eval": (1, 1)}
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Substitution:
    """`$(name arg ...)`; each argument is itself a template."""

    name: str
    args: tuple[tuple[str | Substitution, ...], ...]


Template = tuple[str | Substitution, ...]


def parse_template(text: str) -> Template:
    """Split an attribute value into literal text and substitutions; check names and arity."""
    parts, pos = _parse_until(text, 0, "")
    assert pos == len(text)
    return tuple(parts)


def has_substitution(template: Template) -> bool:
    """True if any part of the template is a substitution."""
    return any(isinstance(part, Substitution) for part in template)


def _parse_until(text: str, pos: int, stops: str) -> tuple[list[str | Substitution], int]:
    """Parse literal text and `$(...)` up to an unescaped character in `stops` or the end."""
    parts: list[str | Substitution] = []
    buf: list[str] = []
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            buf.append(text[pos + 1])  # launch replaces every `\x` by `x`
            pos += 2
        elif text.startswith("$(", pos):
            if buf:
                parts.append("".join(buf))
                buf = []
            sub, pos = _parse_substitution(text, pos)
            parts.append(sub)
        elif ch in stops:
            break
        else:
            buf.append(ch)
            pos += 1
    if buf:
        parts.append("".join(buf))
    return parts, pos


def _parse_substitution(text: str, pos: int) -> tuple[Substitution, int]:
    """Parse `$(name args...)` starting at `pos`; return it and the position after `)`."""
    match = _IDENTIFIER.match(text, pos + 2)
    if match is None:
        raise LaunchError(f"expected a substitution name after '$(' in {text!r}")
    name, pos = match.group(), match.end()
    if name not in SUPPORTED:
        raise LaunchError(
            f"unsupported substitution $({name} ...) in {text!r} "
            f"(supported: {', '.join(f'$({s})' for s in SUPPORTED)})"
        )
    args: list[tuple[str | Substitution, ...]] = []
    while True:
        if pos >= len(text):
            raise LaunchError(f"unterminated substitution $({name} ...) in {text!r}")
        if text[pos] == ")":
            pos += 1
            break
        if text[pos] != " ":
            raise LaunchError(f"unexpected {text[pos]!r} in $({name} ...) in {text!r}")
        pos += 1
        if pos < len(text) and text[pos] in "'\"":
            quote = text[pos]
            arg, pos = _parse_until(text, pos + 1, quote)
            if pos >= len(text):
                raise LaunchError(f"unterminated quote in $({name} ...) in {text!r}")
            pos += 1
        else:
            arg, pos = _parse_until(text, pos, " )'\"")
            if not arg:
                raise LaunchError(f"empty argument in $({name} ...) in {text!r}")
        args.append(tuple(arg))
    low, high = _ARITY[name]
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} or {high}"
        raise LaunchError(f"$({name}) expects {expected} argument(s), got {len(args)} in {text!r}")
    return Substitution(name, tuple(args)), pos


def evaluate(
    template: Template,
    configurations: Mapping[str, str],
    environ: Mapping[str, str],
    find_share: Callable[[str], str],
) -> str:
    """Perform the substitutions of `template` and return the resulting string."""

    def ev(parts: Template) -> str:
        return "".join(part if isinstance(part, str) else sub(part) for part in parts)

    def sub(s: Substitution) -> str:
        args = [ev(a) for a in s.args]
        if s.name == "var":
            if args[0] in configurations:
                return configurations[args[0]]
            if len(args) == 2:
                return args[1]
            raise LaunchError(f"launch configuration '{args[0]}' does not exist")
        if s.name == "env":
            value = environ.get(args[0], args[1] if len(args) == 2 else None)
            if value is None:
                raise LaunchError(f"environment variable '{args[0]}' does not exist")
            return value
        if s.name == "eval":
            return evaluate_expression(args[0])
        return find_share(args[0])

    return ev(template)
