"""Expectations: `delivered == published`, `p99_latency_ms <= 500`, `retried == published * 2`.

A tiny, safe evaluator over the run's metrics (parsed with `ast`, never `eval`).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .fields import ScenarioError

_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class Check:
    """One evaluated expectation: its text, whether it held, and the two sides' values."""

    text: str
    ok: bool
    left: float | None
    right: float | None
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"{self.text}: {self.error}"
        return f"{self.text}  ({_fmt(self.left)} vs {_fmt(self.right)})"


def parse_expectation(text: str) -> ast.Compare:
    """Validate `text` as `<expr> <op> <expr>` over metric names and numbers."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ScenarioError(f"expect: {text!r} is not an expression: {exc.msg}") from None
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        raise ScenarioError(f"expect: {text!r}: want one comparison such as 'a == b'")
    if type(tree.ops[0]) not in _COMPARE:
        raise ScenarioError(f"expect: {text!r}: unsupported comparison")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare | ast.BinOp | ast.UnaryOp | ast.Name | ast.Constant
                          | ast.Load | ast.cmpop | ast.operator | ast.USub):
            raise ScenarioError(f"expect: {text!r}: only metric names, numbers, + - * /")
        if isinstance(node, ast.BinOp) and type(node.op) not in _ARITH:
            raise ScenarioError(f"expect: {text!r}: only + - * / are allowed")
    return tree


def evaluate(text: str, metrics: Mapping[str, float | None]) -> Check:
    """Evaluate one expectation against the metrics; unknown or missing metrics fail it."""
    tree = parse_expectation(text)
    try:
        left = _value(tree.left, metrics)
        right = _value(tree.comparators[0], metrics)
    except KeyError as exc:
        return Check(text, False, None, None, f"no value for {exc.args[0]}")
    return Check(text, _COMPARE[type(tree.ops[0])](left, right), left, right)


def unknown_names(text: str, known: set[str]) -> list[str]:
    """Metric names in `text` that the runner never produces (a typo in the scenario)."""
    tree = parse_expectation(text)
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - known)


def _value(node: ast.expr, metrics: Mapping[str, float | None]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        value = metrics.get(node.id)
        if value is None:
            raise KeyError(node.id)
        return float(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, metrics)
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_value(node.left, metrics), _value(node.right, metrics))
    raise KeyError(ast.dump(node))


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"
