"""Exact multilinear polynomials with integer or rational coefficients.

A monomial is a sorted tuple of 0-based variable indices: ``()`` is the constant
1, ``(0, 3)`` is ``x1*x4``. Because every problem here has ``x_i^2 = x_i``, all
polynomials are kept multilinear: a monomial never repeats an index.

Coefficients are Python ``int`` (exact, unbounded) or :class:`fractions.Fraction`;
floats are rejected so that nothing inexact can enter a proof.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from math import gcd
from numbers import Rational

Monomial = tuple[int, ...]
Coefficient = int | Fraction


def _exact(value: object) -> Coefficient:
    """Return ``value`` as an exact coefficient, or raise ``TypeError``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else value
    if isinstance(value, Rational):
        return _exact(Fraction(value.numerator, value.denominator))
    raise TypeError(f"polynomial coefficients must be int or Fraction, got {value!r}")


def normalize_monomial(indices: Iterable[int]) -> Monomial:
    """Multilinearize a monomial given as variable indices (repeats allowed)."""
    out = []
    for i in indices:
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise ValueError(f"variable indices must be non-negative ints, got {i!r}")
        out.append(i)
    return tuple(sorted(set(out)))


class Polynomial:
    """An immutable multilinear polynomial ``sum_S c_S x^S`` with exact coefficients."""

    __slots__ = ("_terms", "_hash")

    def __init__(self, terms: Mapping[Monomial, object] | None = None) -> None:
        clean: dict[Monomial, Coefficient] = {}
        for mono, coef in (terms or {}).items():
            c = _exact(coef)
            if c != 0:
                key = normalize_monomial(mono)
                total = clean.get(key, 0) + c
                if total == 0:
                    clean.pop(key, None)
                else:
                    clean[key] = total
        self._terms = clean
        self._hash: int | None = None

    @classmethod
    def _trusted(cls, terms: dict[Monomial, Coefficient]) -> Polynomial:
        """Wrap an already clean dict (multilinear keys, nonzero exact values)."""
        poly = cls.__new__(cls)
        poly._terms = terms
        poly._hash = None
        return poly

    # -- constructors -------------------------------------------------------
    @classmethod
    def constant(cls, value: object) -> Polynomial:
        return cls({(): value})

    @classmethod
    def variable(cls, i: int) -> Polynomial:
        """The polynomial ``x_{i+1}`` (0-based index ``i``)."""
        return cls({(i,): 1})

    @classmethod
    def one_minus_variable(cls, i: int) -> Polynomial:
        """The polynomial ``1 - x_{i+1}``."""
        return cls({(): 1, (i,): -1})

    # -- accessors ------------------------------------------------------------
    @property
    def terms(self) -> Mapping[Monomial, Coefficient]:
        return self._terms

    def __iter__(self) -> Iterator[tuple[Monomial, Coefficient]]:
        return iter(self._terms.items())

    def __len__(self) -> int:
        return len(self._terms)

    def __getitem__(self, mono: Monomial) -> Coefficient:
        return self._terms.get(mono, 0)

    def is_zero(self) -> bool:
        return not self._terms

    @property
    def degree(self) -> int:
        """Total degree; the zero polynomial has degree -1."""
        return max((len(m) for m in self._terms), default=-1)

    def variables(self) -> set[int]:
        return {i for m in self._terms for i in m}

    # -- arithmetic -------------------------------------------------------------
    def __add__(self, other: Polynomial) -> Polynomial:
        out = dict(self._terms)
        for mono, c in other._terms.items():
            total = out.get(mono, 0) + c
            if total == 0:
                out.pop(mono, None)
            else:
                out[mono] = total
        return Polynomial._trusted(out)

    def __neg__(self) -> Polynomial:
        return Polynomial._trusted({m: -c for m, c in self._terms.items()})

    def __sub__(self, other: Polynomial) -> Polynomial:
        return self + (-other)

    def scale(self, factor: object) -> Polynomial:
        f = _exact(factor)
        if f == 0:
            return Polynomial()
        return Polynomial._trusted({m: _exact(c * f) for m, c in self._terms.items()})

    def evaluate(self, point: Mapping[int, object] | list | tuple) -> Fraction:
        """Exact value at a point given as a sequence or ``{index: value}``."""
        total = Fraction(0)
        for mono, c in self._terms.items():
            term = Fraction(c)
            for i in mono:
                term *= Fraction(point[i])
            total += term
        return total

    # -- identity -----------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Polynomial):
            return NotImplemented
        return self._terms == other._terms

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._terms.items()))
        return self._hash

    def primitive_key(self) -> frozenset:
        """A key equal for positive multiples of the same polynomial.

        Integer coefficients are divided by their gcd; two memory elements with
        the same key generate the same cone, so one of them is redundant.
        """
        if not self._terms:
            return frozenset()
        coefs = list(self._terms.values())
        if all(isinstance(c, int) for c in coefs):
            g = 0
            for c in coefs:
                g = gcd(g, c)
            return frozenset((m, c // g) for m, c in self._terms.items())
        fr = [Fraction(c) for c in coefs]
        scale = Fraction(1, max(abs(c) for c in fr))
        return frozenset((m, Fraction(c) * scale) for m, c in self._terms.items())

    # -- printing / serialisation --------------------------------------------------
    def sorted_terms(self) -> list[tuple[Monomial, Coefficient]]:
        """Terms in the paper's print order: lex, variables ordered by their names as strings.

        For example ``x1*x5 - x1 + x2*x5 - x2 - x5 + 1`` and ``x10*x9 - x10 - x7 + 1``.
        """
        names = sorted({i for m in self._terms for i in m}, key=lambda i: str(i + 1))
        return sorted(
            self._terms.items(),
            key=lambda t: tuple(0 if i in t[0] else 1 for i in names),
        )

    def to_string(self) -> str:
        """Human-readable form with 1-based variable names, e.g. ``-x3 - x4 + 1``."""
        if not self._terms:
            return "0"
        parts: list[str] = []
        for mono, c in self.sorted_terms():
            name = "*".join(sorted((f"x{i + 1}" for i in mono), key=lambda v: v[1:]))
            mag = abs(c)
            if not name:
                body = str(mag)
            elif mag == 1:
                body = name
            else:
                body = f"{mag}*{name}"
            sign = "-" if c < 0 else "+"
            if not parts:
                parts.append(body if sign == "+" else f"-{body}")
            else:
                parts.append(f"{sign} {body}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"Polynomial({self.to_string()})"

    def to_json(self) -> list[list]:
        """``[[monomial indices], "coefficient"], ...]`` with exact string coefficients."""
        return [[list(m), str(c)] for m, c in self.sorted_terms()]

    @classmethod
    def from_json(cls, data: object) -> Polynomial:
        if not isinstance(data, list):
            raise ValueError(f"a polynomial must be a list of [monomial, coefficient], got {data!r}")
        terms: dict[Monomial, Coefficient] = {}
        for item in data:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                raise ValueError(f"bad polynomial term {item!r}")
            mono_raw, coef_raw = item
            if not isinstance(mono_raw, list | tuple):
                raise ValueError(f"bad monomial {mono_raw!r}")
            mono = normalize_monomial(mono_raw)
            coef = parse_exact(coef_raw)
            terms[mono] = terms.get(mono, 0) + coef
        return cls(terms)


def parse_exact(value: object) -> Coefficient:
    """Parse an exact number from an int or a string like ``"3"`` or ``"-7/2"``."""
    if isinstance(value, bool):
        raise ValueError(f"not an exact number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return _exact(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"not an exact number: {value!r}") from exc
    raise ValueError(f"exact numbers must be ints or strings like '3/2', got {value!r}")
