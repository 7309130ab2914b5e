"""Smooth reflexive polytopes: dataset, exact property checker, lattice normal form.

Modules: :mod:`~envs.polytopes.dataset` (load the classification of Øbro, cite
arXiv:0704.0049 and the Graded Ring Database), :mod:`~envs.polytopes.properties`
(exact checks), :mod:`~envs.polytopes.batch` and :mod:`~envs.polytopes.check` (process
pool and CLI), :mod:`~envs.polytopes.normal_form` and :mod:`~envs.polytopes.identify`
(lattice-equivalence keys and dataset lookup). See ``envs/polytopes/README.md``.
"""
