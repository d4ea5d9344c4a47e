"""Ember's own tools: ``search_documents``, ``calculator``, ``current_datetime``, ``read_file``.

The first three only read and may run without asking (``read_only``); ``read_file`` reads the
person's files, so it is asked about every time (unless always allowed), and only inside the
folders granted in ``Settings.read_file_folders``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import ToolError
from ember.tools.types import Tool, ToolInfo, ToolOutput

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.config import Settings
    from ember.knowledge.types import Grounding

# The calculator refuses expressions longer than this, powers whose result would have more
# than this many bits, and integer results longer than this many bits (about 4,200 digits:
# Python turns at most 4,300 digits into text).
MAX_EXPRESSION_CHARS = 500
MAX_RESULT_BITS = 14_000
MAX_ROUND_DIGITS = 400  # round(x, n) for |n| up to this (round(5, -10**9) builds 10**10**9)
# read_file reads files up to this size (bytes); longer results are cut by the loop anyway.
MAX_FILE_BYTES = 2 * 1024 * 1024

SEARCH_DOCUMENTS = "search_documents"
CALCULATOR = "calculator"
CURRENT_DATETIME = "current_datetime"
READ_FILE = "read_file"


def _string_parameter(name: str, description: str, max_length: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": description, "maxLength": max_length}
        },
        "required": [name],
    }


class SearchDocuments:
    """Passages of the person's indexed documents that answer ``query``, numbered like a
    grounded answer's sources, with their citations. ``retriever``: gives the knowledge base's
    retriever (opened on first use)."""

    info = ToolInfo(
        SEARCH_DOCUMENTS,
        "Search the user's own indexed documents and return the most relevant passages, "
        "numbered [1], [2]... Cite them as [n].",
        _string_parameter("query", "what to look for, in a few words", 300),
        read_only=True,
    )

    def __init__(self, retriever: Callable[[], Any]) -> None:
        self._retriever = retriever

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        query = str(arguments.get("query", "")).strip()
        if not query:
            raise ToolError("search_documents needs a query: what to look for.")
        grounding: Grounding = self._retriever().retrieve(query, None)
        if grounding.abstained or not grounding.citations or not grounding.context.strip():
            return ToolOutput(f"No passage in the user's documents matches {query!r}.")
        return ToolOutput(grounding.context.strip(), citations=tuple(grounding.citations))


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


def _numbers(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``op`` on numbers only (``"a" * 10**9`` would build a gigabyte string)."""

    def checked(left: Any, right: Any) -> Any:
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (left, right)):
            raise ToolError("The calculator works on numbers only.")
        return op(left, right)

    return checked


def _power(base: Any, exponent: Any) -> Any:
    """``base ** exponent``, refused when the result would be huge (a ``9**9**9`` hangs)."""
    size = abs(exponent) * math.log2(abs(base)) if abs(base) > 1 else 0.0
    if size > MAX_RESULT_BITS:
        raise ToolError(f"{base} ** {exponent} is too large to compute.")
    return operator.pow(base, exponent)


# The only syntax the calculator reads: numbers, the few names, arithmetic and calls of its
# functions by name, nested at most MAX_DEPTH deep. Anything else (a method such as
# ``'x'.zfill(10**9)`` or ``(1).to_bytes(10**9)``, strings, comparisons) is refused before it
# is evaluated.
_SYNTAX = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.operator, ast.unaryop)
MAX_DEPTH = 260  # a sum of 250 numbers is fine; Python's own stack holds about twice


def _check_syntax(tree: ast.Expression) -> None:
    """Raises ValueError saying what the calculator does not read."""
    todo: list[tuple[ast.AST, int]] = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float):
                raise ValueError("the calculator works on numbers only")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.keywords:
                raise ValueError("the calculator calls only its own functions, as f(x)")
        elif not isinstance(node, _SYNTAX):
            raise ValueError(f"the calculator does not read {type(node).__name__} expressions")
        todo += [(child, depth + 1) for child in ast.iter_child_nodes(node)]


def _calculate(expression: str) -> Any:
    from simpleeval import DEFAULT_OPERATORS, SimpleEval

    tree = ast.parse(expression.strip(), mode="eval")
    _check_syntax(tree)

    operators = {op: fn for op, fn in DEFAULT_OPERATORS.items() if op in (ast.USub, ast.UAdd)}
    operators.update({op: _numbers(fn) for op, fn in _BINARY.items()})
    operators[ast.Pow] = _numbers(_power)
    functions = {
        name: getattr(math, name)
        for name in ("sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "log", "log10", "log2")
    }
    functions |= {"exp": math.exp, "floor": math.floor, "ceil": math.ceil, "factorial": _factorial}
    functions |= {"abs": abs, "round": _round, "min": min, "max": max}
    names = {"pi": math.pi, "e": math.e, "tau": math.tau}
    evaluator = SimpleEval(operators=operators, functions=functions, names=names)
    return evaluator.eval(expression, previously_parsed=tree.body)


def _round(x: Any, digits: Any = None) -> Any:
    if digits is not None and (not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS):
        raise ToolError(f"round(x, n) takes a whole number n from -{MAX_ROUND_DIGITS} to "
                        f"{MAX_ROUND_DIGITS}.")  # fmt: skip
    return round(x, digits)


def _factorial(n: Any) -> int:
    if not isinstance(n, int) or n < 0 or n > 1000:
        raise ToolError("factorial takes a whole number from 0 to 1000.")
    return math.factorial(n)


def format_number(value: Any) -> str:
    """A calculator result as text: integers exactly, floats to 15 significant digits."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        if value.bit_length() > MAX_RESULT_BITS:
            raise ToolError("The result is too large to show.")
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    raise ToolError(f"The expression gave {type(value).__name__}, not a number.")


class Calculator:
    """Arithmetic, exactly (integers of any size up to a limit), through ``simpleeval``: no
    Python ``eval``, no names but ``pi``, ``e``, ``tau`` and a few math functions."""

    info = ToolInfo(
        CALCULATOR,
        # Short: the embedded model picks the tool reliably only with a short description.
        "Evaluate an arithmetic expression exactly, e.g. 12*(3+4).",
        _string_parameter("expression", "the arithmetic expression to evaluate", 200),
        read_only=True,
    )

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        expression = str(arguments.get("expression", "")).strip()
        if not expression:
            raise ToolError("calculator needs an expression, for example 12*(3+4).")
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise ToolError(f"The expression is too long (over {MAX_EXPRESSION_CHARS} characters).")
        from simpleeval import InvalidExpression

        try:
            value = _calculate(expression.replace("^", "**").replace("×", "*").replace("÷", "/"))
        except ToolError:
            raise
        except ZeroDivisionError:
            raise ToolError(f"{expression}: division by zero.") from None
        except RecursionError:
            raise ToolError(f"Cannot evaluate {expression!r}: it is nested too deeply.") from None
        except (InvalidExpression, SyntaxError, TypeError, ValueError, OverflowError) as exc:
            raise ToolError(f"Cannot evaluate {expression!r}: {exc}") from None
        return ToolOutput(format_number(value))


class CurrentDatetime:
    """The local date and time, with the time zone, in ISO 8601."""

    info = ToolInfo(
        CURRENT_DATETIME,
        "The current local date, time and time zone of the user's computer.",
        {"type": "object", "properties": {}},
        read_only=True,
    )

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now().astimezone())

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        now = self._now()
        zone = now.tzname() or ""
        return ToolOutput(f"{now.isoformat(timespec='seconds')} ({now:%A}, time zone {zone})")


class ReadFile:
    """A text file's contents, only inside the granted folders (``folders``: gives
    ``Settings.read_file_folders`` as they are now), after resolving links and ``..``."""

    info = ToolInfo(
        READ_FILE,
        "Read a text file (or list a folder) on the user's computer, inside the folders the "
        "user granted.",
        _string_parameter("path", "the file's full path", 1000),
    )

    def __init__(self, folders: Callable[[], Sequence[str]]) -> None:
        self._folders = folders

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        raw = str(arguments.get("path", "")).strip()
        if not raw:
            raise ToolError("read_file needs a path.")
        granted = [Path(f).expanduser().resolve() for f in self._folders() if f.strip()]
        if not granted:
            raise ToolError(
                "read_file may read no folder yet: grant folders in Settings (read_file_folders)."
            )
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = granted[0] / path
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # ValueError: a NUL in the path
            raise ToolError(f"No such file: {raw}") from None
        if not any(resolved == g or resolved.is_relative_to(g) for g in granted):
            shown = ", ".join(str(g) for g in granted)
            raise ToolError(f"{raw} is outside the folders read_file may read ({shown}).")
        if resolved.is_dir():
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in resolved.iterdir())
            return ToolOutput(f"Folder {resolved}:\n" + "\n".join(names[:500]))
        if not resolved.is_file():  # a FIFO would block for ever, /dev/zero never end
            raise ToolError(f"{raw} is not a regular file (a device, pipe or socket).")
        size = resolved.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ToolError(
                f"{raw} is too large ({size / 1e6:.1f} MB; read_file reads files up to "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB)."
            )
        with resolved.open("rb") as handle:  # at most the cap: /proc files say they are empty
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"{raw} is too large (read_file reads files up to 2 MB).")
        if b"\0" in data[:8192]:
            raise ToolError(f"{raw} is not a text file.")
        return ToolOutput(data.decode("utf-8", errors="replace"))


def builtin_tools(
    settings: Callable[[], Settings], retriever: Callable[[], Any] | None = None
) -> list[Tool]:
    """Every built-in tool; ``search_documents`` only with a ``retriever`` (a function giving
    the knowledge base's retriever)."""
    tools: list[Tool] = []
    if retriever is not None:
        tools.append(SearchDocuments(retriever))
    tools += [Calculator(), CurrentDatetime(), ReadFile(lambda: settings().read_file_folders)]
    return tools
