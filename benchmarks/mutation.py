"""Mutation-testing benchmark: do the tests catch a wrong model?

Run as a script (it is not a test)::

    .venv/bin/python benchmarks/mutation.py                  # the default modules
    .venv/bin/python benchmarks/mutation.py attention --survivors
    .venv/bin/python benchmarks/mutation.py --max-mutants 60 --seed 1

Each *mutant* is a copy of one module of ``src/survey_models`` with one small change made
on its syntax tree (standard library :mod:`ast`): an arithmetic operator swapped, a
comparison loosened, a constant bumped, a boolean flipped, a negation dropped, a return
value removed, two call arguments swapped, two dictionary values swapped, a self-update
(``x = f(x)``) or a bare call statement skipped. The module's own test files are run
against the mutant; the mutant is *killed* when a test fails (or the run errors), it
*survives* when every test passes, and it *times out* when the run takes more than
``--timeout-factor`` times the unmutated run.

Nothing in ``src/`` is touched: the package is copied once into a temporary directory
that goes first on ``sys.path``, and each mutant overwrites only that copy. To pay the
import of torch once, a parent process imports it and forks one child per mutant, one
child at a time (one core in use; the tests themselves run with one torch thread). In
the child the tests run ordered fastest first (durations of the unmutated run) with
``-x``, so most mutants die in well under a second.

Not mutated: docstrings, strings (error messages and names), annotations, ``raise``
statements, ``extra_repr``/``__repr__`` and ``__all__``. Mutants listed in
``EQUIVALENT`` behave exactly like the original; they are reported as such and are not
counted as killed. Score = (killed + timed out) / mutants.

Prints a table (module, mutants, killed, survived, timeout, score) and writes it, with
the survivors, to ``benchmarks/results/mutation.txt``. On one core of the project's
machines the default modules take about 8 minutes and ``--all`` about 21; ``--max-seconds``
bounds a module's run (the mutants tested are then a random sample, and the table says so).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "survey_models"
RESULTS = ROOT / "benchmarks" / "results" / "mutation.txt"

# module (relative to the package) → (its test files, functions to mutate or None = all)
MODULES: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "attention.py": (("tests/test_attention.py",), None),
    "autoencoders/core.py": (
        ("tests/test_autoencoders.py", "tests/test_autoencoder_variants.py"),
        None,
    ),
    "transformer.py": (("tests/test_transformer.py",), None),
    "diffusion/ddpm.py": (("tests/test_diffusion.py",), None),
    "gan.py": (
        ("tests/test_gan.py",),
        (
            "_logits",
            "discriminator_loss",
            "generator_loss_saturating",
            "generator_loss_nonsaturating",
            "critic_loss_wasserstein",
            "generator_loss_wasserstein",
            "discriminator_loss_hinge",
            "gradient_penalty",
        ),
    ),
}
DEFAULT_MODULES = ("attention.py", "autoencoders/core.py")

# Mutants that compute exactly what the original computes: (module, function, statement,
# source of the mutated node, mutation, why). "statement" is the enclosing statement's
# source (its header for if/for/with); whitespace is ignored. They stay "survived".
EQUIVALENT: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "attention.py",
        "scaled_dot_product_attention",
        "if dropout > 0:",
        "dropout > 0",
        "> → >=",
        "dropout = 0 then keeps every weight (rand >= 0) and divides by 1.0",
    ),
    (
        "attention.py",
        "scaled_dot_product_attention",
        "keep = torch.rand(weights.shape, generator=generator, device=weights.device) >= dropout",
        "torch.rand(weights.shape, generator=generator, device=weights.device) >= dropout",
        ">= → >",
        "rand() == dropout has probability ~2^-24 per entry: no test can tell",
    ),
    (
        "attention.py",
        "_check_mask",
        "shape = torch.broadcast_shapes(mask.shape, scores_shape)",
        "torch.broadcast_shapes(mask.shape, scores_shape)",
        "swap the first two arguments",
        "broadcasting is symmetric",
    ),
    (
        "attention.py",
        "scaled_dot_product_attention",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
        "k.transpose(-2, -1)",
        "swap the first two arguments",
        "transpose(-1, -2) is transpose(-2, -1)",
    ),
    (
        "attention.py",
        "MultiHeadAttention._split",
        "return x.view(b, t, self.n_head, self.d_head).transpose(1, 2)",
        "x.view(b, t, self.n_head, self.d_head).transpose(1, 2)",
        "swap the first two arguments",
        "transpose(2, 1) is transpose(1, 2)",
    ),
    (
        "attention.py",
        "MultiHeadAttention.forward",
        "out = out.transpose(1, 2).reshape(b, tq, self.d_model)",
        "out.transpose(1, 2)",
        "swap the first two arguments",
        "transpose(2, 1) is transpose(1, 2)",
    ),
    (
        "attention.py",
        "AdditiveAttention.__init__",
        "self.v = nn.Linear(hidden_dim, 1, bias=False)",
        "False",
        "False → True",
        "a bias on v adds one constant to a row of scores, which the softmax cancels",
    ),
    (
        "attention.py",
        "RecallModel.__init__",
        "self.attention: nn.Module | None = MultiHeadAttention(d_model, 1, fast=False)",
        "False",
        "False → True",
        "forward asks for the weights, which takes the teaching path whatever fast is",
    ),
    (
        "attention.py",
        "RecallModel.forward",
        "context, w = self.attention(q, pairs, pairs, need_weights=True)",
        "True",
        "True → False",
        "the attention is built with fast=False, which returns the weights "
        "whatever need_weights is",
    ),
    (
        "transformer.py",
        "GPT._check_idx",
        "return idx",
        "return idx",
        "return None",
        "every caller ignores the returned value",
    ),
    (
        "transformer.py",
        "GPT.generate",
        "probs = torch.softmax(logits / temperature, dim=-1)",
        "-1",
        "drop -",
        "logits are (B, vocab): dim 1 is dim -1",
    ),
    (
        "transformer.py",
        "GPT.generate",
        "nxt = logits.argmax(dim=-1, keepdim=True)",
        "-1",
        "drop -",
        "logits are (B, vocab): dim 1 is dim -1",
    ),
    (
        "transformer.py",
        "GPT.__init__",
        'check_probability("dropout", dropout)',
        'check_probability("dropout", dropout)',
        "skip the call",
        "a redundant check: nn.Dropout and every TransformerBlock refuse the same values",
    ),
    (
        "diffusion/ddpm.py",
        "NoiseSchedule.__init__",
        "abar = f / f[0]",
        "f / f[0]",
        "/ → *",
        "β_t depends only on the ratios ᾱ_t/ᾱ_{t-1}: any scale of f cancels",
    ),
    (
        "diffusion/ddpm.py",
        "NoiseSchedule.__init__",
        "abar = f / f[0]",
        "0",
        "0 → 1",
        "β_t depends only on the ratios ᾱ_t/ᾱ_{t-1}: any scale of f cancels",
    ),
    (
        "diffusion/ddpm.py",
        "timestep_embedding",
        "half = dim // 2",
        "dim // 2",
        "// → /",
        "dim is even: torch.arange(4.0) and / 4.0 give the same float32 values",
    ),
    (
        "diffusion/ddpm.py",
        "diffusion_loss.loss_fn",
        "drop = torch.rand(y.shape, device=y.device) < p_uncond",
        "torch.rand(y.shape, device=y.device) < p_uncond",
        "< → <=",
        "rand() == p_uncond has probability ~2^-24 per label: no test can tell",
    ),
    (
        "diffusion/ddpm.py",
        "ddpm_step",
        "nonzero = (t > 0).to(xt.dtype).view(-1, *([1] * (xt.dim() - 1)))",
        "t > 0",
        "> → >=",
        "β̃_0 = 0 (ᾱ_{-1} := 1), so the noise at t = 0 is multiplied by 0",
    ),
    (
        "diffusion/ddpm.py",
        "ddim_sample",
        'check_nonnegative_float("eta", eta)',
        'check_nonnegative_float("eta", eta)',
        "skip the call",
        "a redundant check: the first ddim_step refuses the same eta (through ddim_sigma)",
    ),
    (
        "diffusion/ddpm.py",
        "NoiseSchedule.__init__",
        "if beta_start * scale > min(beta_end * scale, 0.999):",
        "min(beta_end * scale, 0.999)",
        "swap the first two arguments",
        "min is symmetric",
    ),
    (
        "diffusion/ddpm.py",
        "NoiseSchedule.__init__",
        "betas = torch.linspace(beta_start * scale, min(beta_end * scale, 0.999), T, "
        "dtype=torch.float64)",
        "min(beta_end * scale, 0.999)",
        "swap the first two arguments",
        "min is symmetric",
    ),
    (
        "diffusion/ddpm.py",
        "NoiseSchedule._check_x",
        "return x",
        "return x",
        "return None",
        "every caller ignores the returned value",
    ),
    (
        "diffusion/ddpm.py",
        "diffusion_loss.loss_fn",
        "if y is not None and p_uncond > 0:",
        "p_uncond > 0",
        "> → >=",
        "p_uncond = 0 then drops no label (rand < 0 never holds)",
    ),
    (
        "diffusion/ddpm.py",
        "ddim_step",
        "direction = math.sqrt(max(1 - abar_prev - sigma ** 2, 0.0))",
        "max(1 - abar_prev - sigma ** 2, 0.0)",
        "swap the first two arguments",
        "max is symmetric",
    ),
    (
        "diffusion/ddpm.py",
        "ddim_step",
        "if sigma > 0:",
        "sigma > 0",
        "> → >=",
        "sigma = 0 then adds 0 * noise",
    ),
    (
        "diffusion/ddpm.py",
        "ddim_timesteps",
        "ts = torch.linspace(num_steps - 1, 0, sampling_steps).round().long().tolist()",
        "torch.linspace(num_steps - 1, 0, sampling_steps)",
        "swap the first two arguments",
        "linspace(b, a) is linspace(a, b) reversed (torch computes both halves from their "
        "own end), and the steps are sorted afterwards",
    ),
)

SKIP_FUNCTIONS = {"extra_repr", "__repr__"}

BINOPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
CMPOPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.And: "and",
    ast.Or: "or",
    ast.USub: "-",
    ast.Not: "not",
    ast.Invert: "~",
    ast.UAdd: "+",
}


@dataclass
class Mutant:
    index: int  # position in the mutator's deterministic walk
    line: int
    function: str
    source: str  # source text of the mutated node
    change: str  # e.g. "+ → -"
    statement: str = ""  # source of the enclosing statement (the header if compound)


class Mutator(ast.NodeTransformer):
    """Walks a module; numbers every possible mutation; applies the one numbered
    ``target`` (``-1``: apply none, only list them in ``found``)."""

    def __init__(
        self, source: str, target: int = -1, functions: tuple[str, ...] | None = None
    ) -> None:
        self.target = target
        self.functions = functions
        self.found: list[Mutant] = []
        self.stack: list[str] = []
        self.statement = ""
        # ast's column offsets count UTF-8 bytes
        self.lines = [(line + "\n").encode("utf-8") for line in source.split("\n")]

    def _segment(
        self, node: ast.AST, end: tuple[int, int] | None = None, keep_lines: bool = False
    ) -> str:
        """Source of ``node`` (up to ``end`` = (line, column) if given), on one line
        unless ``keep_lines``."""
        first = node.lineno - 1
        last, stop = (node.end_lineno - 1, node.end_col_offset) if end is None else end
        if first == last:
            raw = self.lines[first][node.col_offset : stop]
        else:
            raw = (
                self.lines[first][node.col_offset :]
                + b"".join(self.lines[first + 1 : last])
                + self.lines[last][:stop]
            )
        text = raw.decode("utf-8")
        return text if keep_lines else " ".join(text.split())

    # -- bookkeeping ------------------------------------------------------------------
    def _active(self) -> bool:
        if any(name in SKIP_FUNCTIONS for name in self.stack):
            return False
        if self.functions is None:
            return True
        return any(name in self.functions for name in self.stack)

    def _point(self, node: ast.AST, change: str) -> bool:
        """Register one mutation of ``node``; True when it is the one to apply."""
        if not self._active():
            return False
        index = len(self.found)
        text = self._segment(node) if self.target < 0 else ""
        self.found.append(
            Mutant(
                index, node.lineno, ".".join(self.stack) or "<module>", text, change, self.statement
            )
        )
        return index == self.target

    # -- what is never mutated --------------------------------------------------------
    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        start = 0
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            start = 1  # the docstring
        out = body[:start]
        for stmt in body[start:]:
            if self.target < 0:
                body = getattr(stmt, "body", None)
                if body:  # if/for/with/def: the header only
                    end = (body[0].lineno - 1, body[0].col_offset)
                    header = self._segment(stmt, end, keep_lines=True)
                    header = " ".join(
                        re.sub(r"#[^\n'\"]*$", "", line)  # comments
                        for line in header.splitlines()
                    )
                    self.statement = " ".join(header.split()).removesuffix(":") + ":"
                else:
                    self.statement = self._segment(stmt)
            new = self.visit(stmt)
            if new is None:
                continue
            out.extend(new if isinstance(new, list) else [new])
        return out or [ast.Pass()]

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = self._body(node.body)
        return node

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        self.stack.append(node.name)
        node.body = self._body(node.body)
        self.stack.pop()
        return node  # decorators, annotations, default values: left alone

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_scope

    def _visit_branching(self, node: ast.If | ast.For | ast.While) -> ast.AST:
        """if/for/while: the test (or iterable), then the bodies with their docstring rule."""
        if isinstance(node, ast.For):
            node.iter = self.visit(node.iter)
        else:
            node.test = self.visit(node.test)
        node.body = self._body(node.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        return node

    visit_If = visit_For = visit_While = _visit_branching

    def visit_With(self, node: ast.With) -> ast.With:
        for item in node.items:
            item.context_expr = self.visit(item.context_expr)
        node.body = self._body(node.body)
        return node

    def visit_Try(self, node: ast.Try) -> ast.Try:
        node.body = self._body(node.body)
        for handler in node.handlers:
            handler.body = self._body(handler.body)
        node.orelse = self._body(node.orelse) if node.orelse else []
        node.finalbody = self._body(node.finalbody) if node.finalbody else []
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.Raise:
        return node

    def visit_Import(self, node: ast.AST) -> ast.AST:
        return node

    visit_ImportFrom = visit_Import

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.JoinedStr:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    # -- statements -------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return node
        # a self-update x = f(x): skipping it is a mutant (the update is lost)
        target = node.targets[0] if len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and any(
            isinstance(n, ast.Name) and n.id == target.id for n in ast.walk(node.value)
        ):
            if self._point(node, "skip the update"):
                return ast.Pass()
        node.value = self.visit(node.value)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if self._point(node, "skip the update"):
            return ast.Pass()
        op = type(node.op)
        if op in BINOPS and self._point(node, f"{SYMBOL[op]}= → {SYMBOL[BINOPS[op]]}="):
            node.op = BINOPS[op]()
        node.value = self.visit(node.value)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Call) and self._point(node, "skip the call"):
            return ast.Pass()
        node.value = self.visit(node.value)
        return node

    def visit_Return(self, node: ast.Return) -> ast.Return:
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            if self._point(node, "return None"):
                node.value = ast.Constant(None)
                return node
            node.value = self.visit(node.value)
        return node

    # -- expressions ------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        op = type(node.op)
        if op in BINOPS and self._point(node, f"{SYMBOL[op]} → {SYMBOL[BINOPS[op]]}"):
            node.op = BINOPS[op]()
        node.left = self.visit(node.left)
        node.right = self.visit(node.right)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        op = type(node.op)
        if op in (ast.USub, ast.Not, ast.Invert) and self._point(node, f"drop {SYMBOL[op]}"):
            return node.operand
        node.operand = self.visit(node.operand)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        op = type(node.op)
        other = ast.Or if op is ast.And else ast.And
        if self._point(node, f"{SYMBOL[op]} → {SYMBOL[other]}"):
            node.op = other()
        node.values = [self.visit(v) for v in node.values]
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        for i, op in enumerate(node.ops):
            kind = type(op)
            if kind in CMPOPS and self._point(node, f"{SYMBOL[kind]} → {SYMBOL[CMPOPS[kind]]}"):
                node.ops[i] = CMPOPS[kind]()
        node.left = self.visit(node.left)
        node.comparators = [self.visit(c) for c in node.comparators]
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._point(node, f"{value} → {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, (int, float)) and not isinstance(value, complex):
            new = value + 1
            if self._point(node, f"{value!r} → {new!r}"):
                return ast.copy_location(ast.Constant(new), node)
        return node  # strings, None, bytes: kept

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = node.args
        if (
            len(args) >= 2
            and not any(isinstance(a, ast.Starred) for a in args[:2])
            and ast.dump(args[0]) != ast.dump(args[1])
        ):
            if self._point(node, "swap the first two arguments"):
                node.args = [args[1], args[0], *args[2:]]
        node.func = self.visit(node.func)
        node.args = [self.visit(a) for a in node.args]
        for kw in node.keywords:
            kw.value = self.visit(kw.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        for i in range(len(node.values) - 1):
            if node.keys[i] is None or node.keys[i + 1] is None:
                continue
            if self._point(node, f"swap the values of entries {i} and {i + 1}"):
                node.values[i], node.values[i + 1] = node.values[i + 1], node.values[i]
        node.values = [self.visit(v) for v in node.values]
        return node


def list_mutants(source: str, functions: tuple[str, ...] | None) -> list[Mutant]:
    mutator = Mutator(source, -1, functions)
    mutator.visit(ast.parse(source))
    return mutator.found


def mutated_source(source: str, index: int, functions: tuple[str, ...] | None) -> str:
    tree = Mutator(source, index, functions).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


# --- running the tests in a forked child -------------------------------------------------


class _Order:
    """pytest plugin: run the tests fastest first (known durations), record durations."""

    def __init__(self, durations: dict[str, float] | None) -> None:
        self.durations = durations or {}
        self.seen: dict[str, float] = {}

    def pytest_collection_modifyitems(self, items):  # noqa: D401 - pytest hook
        items.sort(key=lambda item: self.durations.get(item.nodeid, 0.0))

    def pytest_runtest_logreport(self, report):
        self.seen[report.nodeid] = self.seen.get(report.nodeid, 0.0) + report.duration


def run_tests(
    copy: Path,
    tests: tuple[str, ...],
    durations: dict[str, float] | None,
    timeout: float,
    record: Path | None = None,
) -> tuple[str, float]:
    """Run ``tests`` against the package in ``copy`` in a forked child.

    Returns ``(outcome, seconds)`` with outcome ``passed``, ``failed`` or ``timeout``.
    """
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 3
        try:
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.dont_write_bytecode = True  # nothing written in the checkout
            sys.path.insert(0, str(copy))
            os.chdir(ROOT)
            import pytest

            plugin = _Order(durations)
            code = int(
                pytest.main(
                    [
                        *tests,
                        "-x",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        "-o",
                        "addopts=",
                        "-W",
                        "ignore",
                    ],
                    plugins=[plugin],
                )
            )
            loaded = sys.modules.get("survey_models")
            if loaded is None or not str(loaded.__file__).startswith(str(copy)):
                code = 99  # the copy was not the one tested
            elif record is not None:
                record.write_text(json.dumps(plugin.seen))
        finally:
            os._exit(code)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - start > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "timeout", time.perf_counter() - start
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code == 99:
        raise RuntimeError(
            "the tests imported survey_models from somewhere other than "
            "the temporary copy; the benchmark cannot run here"
        )
    return ("passed" if code == 0 else "failed"), seconds


# --- the benchmark -----------------------------------------------------------------------


@dataclass
class Result:
    module: str
    total: int  # mutants the module has
    tested: list[tuple[Mutant, str]] = field(default_factory=list)
    baseline_s: float = 0.0
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for _, o in self.tested if o == outcome)

    def equivalent(self) -> list[tuple[Mutant, str]]:
        return [
            (m, o) for m, o in self.tested if o == "survived" and equivalent_reason(self.module, m)
        ]

    @property
    def score(self) -> float:
        n = len(self.tested)
        return (self.count("killed") + self.count("timeout")) / n if n else float("nan")


def _squeeze(text: str) -> str:
    return "".join(text.split())  # formatting (a reflow, ruff) does not matter


def equivalent_reason(module: str, m: Mutant) -> str | None:
    key = (module, m.function, _squeeze(m.statement), _squeeze(m.source), m.change)
    for entry in EQUIVALENT:
        if (entry[0], entry[1], _squeeze(entry[2]), _squeeze(entry[3]), entry[4]) == key:
            return entry[5]
    return None


def bench_module(
    module: str,
    copy: Path,
    max_mutants: int,
    max_seconds: float,
    seed: int,
    timeout_factor: float,
    progress: bool,
    only: list[str] | None = None,
) -> Result:
    tests, functions = MODULES[module]
    path = PACKAGE / module
    source = path.read_text(encoding="utf-8")
    mutants = list_mutants(source, functions)
    if only:
        mutants = [m for m in mutants if any(name in m.function for name in only)]
    result = Result(module, len(mutants))
    # a random order: whatever a time budget cuts off, what was tested is a fair sample
    chosen = random.Random(seed).sample(mutants, min(max_mutants, len(mutants)))
    target = copy / "survey_models" / module
    record = copy / "durations.json"
    # the unmutated module, written back through ast.unparse like every mutant
    target.write_text(ast.unparse(ast.parse(source)), encoding="utf-8")
    outcome, base = run_tests(copy, tests, None, timeout=600.0, record=record)
    if outcome != "passed":
        raise RuntimeError(
            f"the tests of {module} ({', '.join(tests)}) fail on the unmutated code; fix that first"
        )
    durations = json.loads(record.read_text())
    result.baseline_s = base
    timeout = max(10.0, timeout_factor * base)
    start = time.perf_counter()
    for n, m in enumerate(chosen, 1):
        if max_seconds and time.perf_counter() - start > max_seconds:
            break
        target.write_text(mutated_source(source, m.index, functions), encoding="utf-8")
        outcome, _ = run_tests(copy, tests, durations, timeout)
        outcome = {"passed": "survived", "failed": "killed"}.get(outcome, outcome)
        result.tested.append((m, outcome))
        if progress:
            print(f"\r{module}: {n}/{len(chosen)}", end="", file=sys.stderr, flush=True)
    result.tested.sort(key=lambda item: item[0].index)
    if progress:
        print(file=sys.stderr)
    shutil.copyfile(path, target)
    result.seconds = time.perf_counter() - start
    return result


def report(results: list[Result], show_survivors: bool, argv: list[str]) -> str:
    lines = [
        "Mutation testing of survey_models (benchmarks/mutation.py)",
        f"command: benchmarks/mutation.py {' '.join(argv)}".rstrip(),
        "score = (killed + timeout) / mutants; equivalent mutants count as survived",
        "",
    ]
    header = (
        f"{'module':<22} {'mutants':>7} {'killed':>6} {'survived':>8} "
        f"{'(equiv.)':>8} {'timeout':>7} {'score':>6} {'time':>7}"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        tested = len(r.tested)
        sampled = f"  (random sample of {tested} of {r.total})" if tested < r.total else ""
        lines.append(
            f"{r.module:<22} {tested:>7} {r.count('killed'):>6} "
            f"{r.count('survived'):>8} {len(r.equivalent()):>8} "
            f"{r.count('timeout'):>7} {r.score:>6.1%} {r.seconds:>6.0f}s{sampled}"
        )
    lines.append("")
    for r in results:
        lines.append(
            f"{r.module}: tests {' '.join(MODULES[r.module][0])}; unmutated run "
            f"{r.baseline_s:.1f} s"
        )
    for r in results:
        equivalent = r.equivalent()
        if equivalent:
            lines += ["", f"# equivalent mutants of {r.module} (listed, not counted as killed):"]
            for m, _ in equivalent:
                lines.append(
                    f"#   line {m.line} {m.function}: `{m.source}` {m.change} — "
                    f"{equivalent_reason(r.module, m)}"
                )
        survivors = [
            m for m, o in r.tested if o == "survived" and not equivalent_reason(r.module, m)
        ]
        if show_survivors and survivors:
            lines += ["", f"survivors of {r.module}:"]
            for m in survivors:
                text = m.source if len(m.source) <= 90 else m.source[:87] + "..."
                lines.append(f"  line {m.line:>4} {m.function}: {m.change}   `{text}`")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules",
        nargs="*",
        help="modules to mutate, e.g. attention "
        f"(default: {' '.join(DEFAULT_MODULES)}; known: {' '.join(MODULES)})",
    )
    parser.add_argument("--all", action="store_true", help="every known module")
    parser.add_argument(
        "--max-mutants",
        type=int,
        default=500,
        help="per module; more are sampled down to this (default 500)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="per module: stop starting mutants after this long; the ones "
        "tested are a random sample (default 0 = no limit)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    parser.add_argument(
        "--timeout-factor",
        type=float,
        default=4.0,
        help="a mutant's run may take this times the unmutated run (min 10 s)",
    )
    parser.add_argument(
        "--function",
        action="append",
        metavar="NAME",
        help="only mutants in functions whose qualified name contains NAME "
        "(repeatable; to re-check survivors quickly)",
    )
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    names = list(MODULES) if args.all else (args.modules or list(DEFAULT_MODULES))
    modules = []
    for name in names:
        key = name if name.endswith(".py") else name + ".py"
        key = key.replace(".autoencoders", "autoencoders")
        if key not in MODULES:
            parser.error(f"unknown module {name!r}; known: {', '.join(MODULES)}")
        modules.append(key)

    import torch  # imported once, before the forks

    torch.set_num_threads(1)
    import pytest  # noqa: F401

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy = Path(tmp)
        shutil.copytree(
            PACKAGE, copy / "survey_models", ignore=shutil.ignore_patterns("__pycache__")
        )
        results = [
            bench_module(
                m,
                copy,
                args.max_mutants,
                args.max_seconds,
                args.seed,
                args.timeout_factor,
                progress=sys.stderr.isatty(),
                only=args.function,
            )
            for m in modules
        ]
    text = report(results, args.survivors, sys.argv[1:])
    text += f"\ntotal time {time.perf_counter() - started:.0f} s, one test process at a time\n"
    print(text, end="")
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
