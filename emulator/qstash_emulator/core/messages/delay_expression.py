"""`Upstash-Retry-Delay` expressions: a whitelisted arithmetic language over `retried`,
validated by walking its syntax tree and evaluated by a small interpreter (never `eval`)."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_BACKOFF_S = 86_400
MAX_EXPRESSION_CHARS = 500
MAX_EXPRESSION_NODES = 200
_MAX_DELAY_MS = float(MAX_BACKOFF_S * 1000)


class InvalidRetryDelay(ValueError):
    pass


# --- expression validation -------------------------------------------------------------------

_VARIABLE = "retried"
_BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow)
_UNARY_OPS = (ast.UAdd, ast.USub)
# function name -> (min args, max args or None for unbounded)
_ARITY: dict[str, tuple[int, int | None]] = {
    "pow": (2, 2),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "round": (1, 1),
    "min": (1, None),
    "max": (1, None),
}


def _reject(source: str, why: str) -> InvalidRetryDelay:
    return InvalidRetryDelay(f"invalid retry delay expression {source!r}: {why}")


def _syntax_tree(source: str) -> ast.Expression:
    if not source.strip():
        raise _reject(source, "empty expression")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise _reject(source[:40] + "...", f"longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _reject(source, "syntax error") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_EXPRESSION_NODES:
        raise _reject(source, f"more than {MAX_EXPRESSION_NODES} syntax nodes")
    return tree


def _check_node(node: ast.expr, source: str) -> None:
    if isinstance(node, ast.Constant):
        _check_constant(node, source)
    elif isinstance(node, ast.Name):
        if node.id != _VARIABLE:
            raise _reject(source, f"unknown name {node.id!r}, only {_VARIABLE!r} is allowed")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY_OPS):
        _check_node(node.left, source)
        _check_node(node.right, source)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY_OPS):
        _check_node(node.operand, source)
    elif isinstance(node, ast.Call):
        _check_call(node, source)
    else:
        raise _reject(source, f"unsupported syntax {type(node).__name__}")


def _check_constant(node: ast.Constant, source: str) -> None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _reject(source, f"unsupported constant {value!r}")


def _check_call(node: ast.Call, source: str) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in _ARITY:
        raise _reject(source, f"unsupported function, allowed: {', '.join(_ARITY)}")
    name = node.func.id
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise _reject(source, f"{name}() takes positional arguments only")
    low, high = _ARITY[name]
    if len(node.args) < low or (high is not None and len(node.args) > high):
        want = f"{low}" if low == high else f"at least {low}"
        raise _reject(source, f"{name}() takes {want} argument(s), got {len(node.args)}")
    for arg in node.args:
        _check_node(arg, source)


# --- expression evaluation -------------------------------------------------------------------
# Everything is computed in floats so no giant integers can ever be built. Overflow becomes
# +/-inf and flows on (so `min(5000, exp(retried))` still works); a NaN result is an error.


def _power(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        odd = exponent.is_integer() and math.fmod(exponent, 2.0) != 0.0
        return -math.inf if base < 0 and odd else math.inf


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _whole(fn: Callable[[float], int]) -> Callable[[float], float]:
    def apply(x: float) -> float:
        return x if not math.isfinite(x) else float(fn(x))

    return apply


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


_UNARY_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "exp": _exp,
    "sqrt": math.sqrt,
    "abs": abs,
    "floor": _whole(math.floor),
    "ceil": _whole(math.ceil),
    "round": _whole(_round_half_away),
}


def _binary(op: ast.operator, left: float, right: float) -> float:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Div):
        return left / right
    if isinstance(op, ast.Mod):
        return left % right
    return _power(left, right)


def _constant(value: object) -> float:
    assert isinstance(value, int | float)
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _call(node: ast.Call, retried: float) -> float:
    assert isinstance(node.func, ast.Name)
    args = [_eval(arg, retried) for arg in node.args]
    name = node.func.id
    if name == "pow":
        return _power(args[0], args[1])
    if name == "min":
        return min(args)
    if name == "max":
        return max(args)
    return _UNARY_FUNCTIONS[name](args[0])


def _eval(node: ast.expr, retried: float) -> float:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        return retried
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _eval(node.left, retried), _eval(node.right, retried))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, retried)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.Call)
    return _call(node, retried)


@lru_cache(maxsize=256)
def _validated(source: str) -> ast.expr:
    tree = _syntax_tree(source)
    _check_node(tree.body, source)
    return tree.body


@dataclass(frozen=True, slots=True)
class RetryDelayExpression:
    """A validated Upstash-Retry-Delay expression (milliseconds, variable `retried`)."""

    source: str

    @classmethod
    def parse(cls, text: str) -> RetryDelayExpression:
        """Validate `text` against the expression whitelist; raise InvalidRetryDelay if not."""
        _validated(text)
        return cls(text)

    def evaluate_ms(self, retried: int) -> float:
        """Delay in ms before the next retry, clamped to [0, MAX_BACKOFF_S * 1000]."""
        body = _validated(self.source)
        try:
            result = _eval(body, float(retried))
        except (ArithmeticError, ValueError) as exc:
            raise _reject(self.source, f"cannot evaluate with retried={retried}: {exc}") from exc
        if math.isnan(result):
            raise _reject(self.source, f"result is not a number with retried={retried}")
        return min(max(result, 0.0), _MAX_DELAY_MS)
