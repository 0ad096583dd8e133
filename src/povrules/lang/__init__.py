"""The condition language: parse → check → compile.

* :mod:`~povrules.lang.parser` turns text into a syntactic tree of whitelisted forms;
* :mod:`~povrules.lang.checker` resolves names against facts, parameters and derived
  facts, and types every node;
* :mod:`~povrules.lang.compiler` turns a checked tree into closures that evaluate
  with three-valued logic.
"""

from povrules.lang.checker import CheckProblem, Scope, check, check_condition
from povrules.lang.compiler import Compiler, Env, Unknown
from povrules.lang.parser import SyntaxProblem, parse

__all__ = ["CheckProblem", "Compiler", "Env", "Scope", "SyntaxProblem", "Unknown", "check", "check_condition", "parse"]
