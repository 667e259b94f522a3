"""`$(eval expr)`: the subset of launch's Python expressions that rl_control's launch files
use (`ros2 launch` evaluates them with Python's eval; here nothing else runs): arithmetic,
comparisons, and/or/not, `a if c else b`, so one launch file can start N worker groups by
`if="$(eval '$(var workers) > 2')"`; and for comma-separated lists such as
`robot_namespaces:=dog1,dog2`, `len`, an integer subscript and a few methods of str (split,
strip, replace, count) and of a list of strings (count). Anything else is refused by name."""

from __future__ import annotations

import ast
import operator
from typing import Any

from rl_control.ros.launch.model import LaunchError

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip
#: receiver type -> methods callable on it, with the number of positional arguments allowed
#: (all of them str-valued, as Python's own: `'a,b'.split(',')`, `s.strip('/')`)
_METHODS: dict[type, dict[str, tuple[int, int]]] = {
    str: {"split": (0, 1), "strip": (0, 1), "replace": (2, 2), "count": (1, 1)},
    list: {"count": (1, 1)},
}


def evaluate_expression(text: str) -> str:
    """The value of ``text`` as launch prints it (``str()``: True, 3, 'a' -> a)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise LaunchError(f"$(eval): not an expression: {text!r}") from None
    return str(_value(tree.body, text))


def _value(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_value(node.left, text), _value(node.right, text))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        operand = _value(node.operand, text)
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _value(node.left, text)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                break
            right = _value(right_node, text)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        else:
            return True
    if isinstance(node, ast.BoolOp):
        result = None
        for item in node.values:  # Python's short-circuit: the deciding operand
            result = _value(item, text)
            if bool(result) == isinstance(node.op, ast.Or):
                return result
        return result
    if isinstance(node, ast.IfExp):
        branch = node.body if _value(node.test, text) else node.orelse
        return _value(branch, text)
    if isinstance(node, ast.Subscript):
        return _subscript(node, text)
    if isinstance(node, ast.Call):
        return _call(node, text)
    raise LaunchError(
        f"$(eval): only numbers, strings, arithmetic, comparisons, and/or/not, "
        f"'a if c else b', len(), [index] and the str methods split, strip, replace, count "
        f"are supported, not {_construct(node)} {ast.unparse(node)!r} in {text!r}"
    )


def _construct(node: ast.AST) -> str:
    """What the refused node is, in words (a name, an attribute, a list display...)."""
    names = {ast.Name: "the name", ast.Attribute: "the attribute", ast.List: "the list",
             ast.Tuple: "the tuple", ast.Lambda: "the lambda", ast.Dict: "the dict",
             ast.ListComp: "the comprehension", ast.GeneratorExp: "the generator"}  # fmt: skip
    return names.get(type(node), f"the {type(node).__name__}")


def _subscript(node: ast.Subscript, text: str) -> Any:
    """``s[i]`` / ``items[i]`` with an integer i (negative counts from the end), no slices."""
    if isinstance(node.slice, ast.Slice):
        raise LaunchError(f"$(eval): slices are not supported: {ast.unparse(node)!r} in {text!r}")
    target, index = _value(node.value, text), _value(node.slice, text)
    if not isinstance(target, (str, list)) or type(index) is not int:
        raise LaunchError(f"$(eval): only a string or a list takes a subscript, by an integer: "
                          f"{ast.unparse(node)!r} in {text!r}")  # fmt: skip
    if not -len(target) <= index < len(target):
        raise LaunchError(f"$(eval): index {index} out of range for {target!r} "
                          f"({len(target)} items) in {text!r}")  # fmt: skip
    return target[index]


def _call(node: ast.Call, text: str) -> Any:
    """``len(x)`` and the methods of :data:`_METHODS`, positional arguments only."""
    where = f"{ast.unparse(node)!r} in {text!r}"
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise LaunchError(f"$(eval): keyword or starred arguments are not supported: {where}")
    if isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1:
        value = _value(node.args[0], text)
        if not isinstance(value, (str, list)):
            raise LaunchError(f"$(eval): len() takes a string or a list: {where}")
        return len(value)
    if not isinstance(node.func, ast.Attribute):
        name = ast.unparse(node.func)
        raise LaunchError(f"$(eval): the only function is len(x), not {name}(): {where}")
    receiver = _value(node.func.value, text)
    methods = _METHODS.get(type(receiver), {})
    method = node.func.attr
    if method not in methods:
        allowed = ", ".join(f"{t.__name__}.{m}" for t, ms in _METHODS.items() for m in ms)
        raise LaunchError(f"$(eval): method {type(receiver).__name__}.{method} is not "
                          f"supported (only {allowed}): {where}")  # fmt: skip
    low, high = methods[method]
    args = [_value(a, text) for a in node.args]
    if not low <= len(args) <= high or not all(isinstance(a, str) for a in args):
        raise LaunchError(
            f"$(eval): {type(receiver).__name__}.{method} takes {low}"
            f"{'' if low == high else f' to {high}'} string argument(s): {where}"
        )
    try:
        return getattr(receiver, method)(*args)
    except ValueError as err:  # 'a'.split('')
        raise LaunchError(f"$(eval): {err}: {where}") from None
