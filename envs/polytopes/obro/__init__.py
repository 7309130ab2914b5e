"""Classification of smooth Fano polytopes by Øbro's SFP scheme (special embeddings).

Reference: M. Øbro, "An algorithm for the classification of smooth Fano polytopes",
arXiv:0704.0049. Only the paper's introduction was retrievable here, so the scheme below
follows the facts of that paper that are stated in our brief and re-derived (with proofs
sketched next to the code), not its pseudo-code; the pruning tests are our own and are
marked as such. Notation: P is a smooth Fano d-polytope (simplicial, 0 interior, the
vertices of every facet a Z-basis), nu = sum of its vertices, u_G the facet normal with
<u_G, G> = 1, h(v) = <(1,...,1), v> the height.

Øbro's scheme (followed):

* special facet: a facet F with nu in pos(F); every P has one (nu lies in some cone of
  the face fan).
* special embedding: F = conv(e_1, ..., e_d), so u_F = (1,...,1). Every other vertex has
  h(v) <= 0, and sum_{v not in F} h(v) = h(nu) - d >= -d (nu in pos(F) gives h(nu) >= 0),
  hence h(v) in {0, -1, ..., -d}.
* bounded candidate set: the facet F_i adjacent to F across conv(e_j : j != i) is
  conv(e_j (j != i), y) with y_i = -1 and u_{F_i} = u_F + (h(y) - 1) e_i^*; <u_{F_i}, v> <= 0
  for every other vertex gives v_i >= h(v) / (1 - h(y)) >= h(v). So every vertex outside F
  lies in the finite, S_d-invariant set ``candidate_points(d)`` =
  {v primitive : -d <= h(v) <= 0, v_i >= min(h(v), -1)}.
* total order: points are ordered by height (descending), then lexicographically
  (descending) within a height; F's vertices come first. A vertex set is compared with
  another of the same size through its sorted sequence (lexicographic order).
* search tree: the root is {e_1..e_d}; a node V has the children V + {w} for candidates w
  after max(V). Every node that is the vertex set of a smooth Fano polytope with F special
  is tested; it is output only if it is the minimal special embedding of its polytope
  (over every special facet G of conv(V) and every ordering of G's vertices, the image of
  V is not smaller). So each lattice-equivalence class is output exactly once and no
  isomorphism test between outputs is needed.

Pruning (all are necessary conditions on a prefix V of the ordered vertex set of a special
embedding, so no smooth Fano polytope is lost; the code keeps the boundary of
conv(V + {0}) as a triangulation, updated by beneath-beyond):

1. budget: sum_{v in V, v not in F} h(v) >= -d, and later vertices have height
   >= -(remaining budget) (Øbro's height sum bound above).
2. every point of V stays a vertex, and a new point must lie strictly outside the hull
   (a vertex of P inside conv(V + {0}) subset P would be a vertex of that hull). Future
   candidates inside the current hull are dropped.
3. final facets (ours): a boundary simplex G with no remaining candidate strictly beyond
   its hyperplane is a face of P, hence a facet of P: it must not contain 0, must be a
   unimodular simplex (det = 1, so <u_G, G> = 1), and all other points must satisfy
   <u_G, v> <= 0; remaining candidates must satisfy <u_G, w> <= 0. Iterated to a fixpoint.
4. primitive relations of length two (Batyrev; Fano means degree > 0): for two vertices
   v, w of P, either [v, w] is an edge, or v + w = 0, or v + w is a vertex. So if v + w is
   neither 0, nor in V, nor a remaining candidate, [v, w] must be an edge of the current
   boundary triangulation.
5. coordinate symmetry (ours, a consequence of the minimality rule): a permutation of
   coordinates maps a special embedding to a special embedding, preserving heights; if the
   image of the prefix V sorts before V, the whole vertex set has a smaller embedding, so
   the minimal embedding never passes through V.
6. covering (ours): every boundary simplex that is not a valid facet (through 0, det != 1,
   or with another point on its hyperplane) needs a later vertex strictly beyond it, and
   the later vertices' heights add up to >= -(remaining budget): a small set-cover search
   over the candidates' "beyond" bit patterns (height-0 candidates are free).
7. nu in pos(F) (ours): if a coordinate of the current vertex sum is negative and no
   height-0 candidate is left, at most (budget // cheapest cost) vertices can still
   raise it, each by at most the largest candidate coordinate.

8. neighbours of F (ours): the facet of P adjacent to F across conv(e_j : j != i) is
   conv(e_j (j != i), y_i) with (y_i)_i = -1 and u = (1,...,1) + (h(y_i) - 1) e_i^*
   (see above); <u, v> <= 0 for every other vertex v outside F gives
   |v_i| (1 - h(y_i)) <= -h(v) whenever v_i < 0 and v != y_i. So for each i some vertex
   with coordinate i equal to -1 must be able to serve as y_i (all other vertices of V
   fit it; a later y_i is a candidate with c_i = -1), m_i = -h(y_i) is at least the
   cheapest such option M_i, and candidates c with c_i <= -2 (never y_i) need
   |c_i| (1 + M_i) <= -h(c). In particular the height-0 vertices have pairwise disjoint
   negative supports, with all negative coordinates -1. The coordinates i whose y_i is
   not in V add a bit to test 6 (a later c with c_i = -1 that V fits is needed).
9. neighbours of every final facet (ours): test 3 proves that a final simplex G is a
   facet of P; the argument of test 8 uses only that F is a unimodular facet and that
   the other vertices have <u_F, v> <= 0, so it holds in the basis of G (coordinates
   x G^-1, height <u_G, x>) for every final G, not only for F.

Tests 2-6 and 8 are also applied to all children of a node at once, vectorised, before
any child hull is built (``_Search._screen``): a vertex is lost iff all its simplices are
visible from w; the new edges join w to the horizon; an old simplex with no candidate
after w beyond it becomes final; a new simplex conv(r + w) over a horizon ridge r
between s1 and s2 has the pencil hyperplane e1(w) e2(x) - e2(w) e1(x) = 0 (e_i the
excess over s_i), so its finality and det(r, w) = +-1 are decided from the node's
excess matrix alone; test 5 compares sigma(V + w) with V + w from the node's sorted
images sigma(V) (``_Search._symmetry_fails``); test 8 needs, per coordinate, only the
node's cheapest option in V and the first later candidate with c_i = -1.

All decisions use integer arithmetic. Floating point only proposes the cofactor
determinants of hyperplane normals and ridge functionals (integer matrices with entries
below ~3d^2 and size < d, so |det| < 1e10 and LU rounding errors are far below 0.5); the
rounded vectors are checked exactly to vanish on the right points, the rounded inverses
of final facets (test 9) are checked exactly to be inverses, and every output's facets
are re-checked with an exact integer inverse.

Measured (CLI, one process on a shared 2-core machine): d = 1..4 give 1, 5, 18, 124
polytopes in 0.0, 0.0, 0.1 and 1.1 s (297 search nodes for d = 4); d = 5 gives 866 in
16.5 s (2445 nodes, 15 first-level branches); d = 6 gives 7622 in 440 s (26 first-level
branches), every class equal to the published list. Before tests 8 and 9 and the
screening of test 5 the same machine needed 1.5 s for d = 4 and 664 s for d = 5
(~35k nodes, 621 first-level branches); test 9 alone cut the d = 5 nodes from 20k to
2.4k.

    python -m envs.polytopes.obro --dims 2 3 4 5 [--out results/polytopes/obro]

(``--workers N`` searches the first-level branches in N processes; same output)
writes ``<out>/obro_d{d}.json`` per dimension (finished dimensions are skipped) and,
while a dimension runs, ``<out>/obro_d{d}.partial.json`` after every first-level branch
(a rerun resumes from it; the reported seconds are those of the last run).
"""

# the public API, and (``x as x``) the private names tests/polytopes/test_polytopes_obro.py uses
from envs.polytopes.obro.candidates import candidate_points
from envs.polytopes.obro.cli import main
from envs.polytopes.obro.geometry import _boundary as _boundary
from envs.polytopes.obro.minimality import _unimodular_inverse as _unimodular_inverse
from envs.polytopes.obro.minimality import is_minimal_special_embedding
from envs.polytopes.obro.pruning import _lack_and_cost as _lack_and_cost
from envs.polytopes.obro.pruning import _neighbour_filter as _neighbour_filter
from envs.polytopes.obro.pruning import _neighbour_options as _neighbour_options
from envs.polytopes.obro.search import classify

__all__ = ["candidate_points", "classify", "is_minimal_special_embedding", "main"]
