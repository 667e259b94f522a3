"""`$(eval expr)`: the arithmetic, comparison and boolean subset of launch's Python
expressions (`ros2 launch` evaluates them with Python's eval; here nothing else runs), so
one launch file can start N worker groups by `if="$(eval '$(var workers) > 2')"`."""

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
    raise LaunchError(
        f"$(eval): only numbers, strings, arithmetic, comparisons, and/or/not and "
        f"'a if c else b' are supported, not {ast.unparse(node)!r} in {text!r}"
    )
