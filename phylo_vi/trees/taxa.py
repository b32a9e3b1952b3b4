"""The taxon namespace: one ordered list of taxon names shared by every tree of a sample.

:func:`common_namespace` is the one check that several trees, tree samples, models or
alignments use the same namespace; :func:`describe_taxon_difference` words a mismatch.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from phylo_vi.errors import PhyloVIError, TaxonMismatchError


class TaxonNamespace:
    """Ordered, growable mapping between taxon names and indices ``0 .. n_taxa - 1``.

    The index of a taxon is its bit in every clade and split bitset, so all trees compared
    with each other must share one namespace. Names are kept exactly as read (underscores
    are not turned into spaces).
    """

    __slots__ = ("_names", "_index")

    def __init__(self, names: Iterable[str] = ()):
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        for name in names:
            if name in self._index:
                raise PhyloVIError(f"duplicate taxon name {name!r}")
            self.add(name)

    def add(self, name: str) -> int:
        """Index of ``name``, appending it when new."""
        index = self._index.get(name)
        if index is None:
            index = len(self._names)
            self._names.append(name)
            self._index[name] = index
        return index

    def index(self, name: str) -> int:
        """Index of ``name``; ``KeyError`` when absent."""
        return self._index[name]

    def get(self, name: str, default: int | None = None) -> int | None:
        return self._index.get(name, default)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __getitem__(self, index: int) -> str:
        return self._names[index]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TaxonNamespace) and self._names == other._names

    def __hash__(self) -> int:
        return hash(tuple(self._names))

    def __repr__(self) -> str:
        return f"TaxonNamespace({len(self)} taxa)"


class HasTaxa(Protocol):
    """Anything over a taxon namespace: a tree, a tree sample, tree arrays, site patterns."""

    taxa: TaxonNamespace


def describe_taxon_difference(have: Iterable[str], want: Iterable[str], *, have_name: str = "this one",
                              want_name: str = "the first") -> str:
    """Which taxa of ``want`` are missing from ``have`` and which of ``have`` are extra (names sorted).

    ``missing from <have_name>: …; in <have_name> but not in <want_name>: …``, or a note that
    the two hold the same taxa in another order.
    """
    have, want = list(have), list(want)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    parts = []
    if missing:
        parts.append(f"missing from {have_name}: {', '.join(missing)}")
    if extra:
        parts.append(f"in {have_name} but not in {want_name}: {', '.join(extra)}")
    return "; ".join(parts) if parts else "the same taxa in another order"


def common_namespace(items: Iterable[TaxonNamespace | HasTaxa], *, what: str = "trees") -> TaxonNamespace:
    """The one taxon namespace of ``items`` (namespaces, or objects with a ``taxa`` attribute).

    Bitsets of clades and splits are indexed by taxon, so trees compared with each other must
    use the same names in the same order. Raises :class:`~phylo_vi.errors.TaxonMismatchError`
    naming the first item that differs from the first one and the taxa that differ; ``what``
    names the items in that message. An empty ``items`` is a :class:`PhyloVIError`.
    """
    first: TaxonNamespace | None = None
    for position, item in enumerate(items):
        taxa = item if isinstance(item, TaxonNamespace) else item.taxa
        if first is None:
            first = taxa
        elif taxa is not first and taxa != first:
            item_name = f"item {position + 1}"
            difference = describe_taxon_difference(taxa, first, have_name=item_name)
            raise TaxonMismatchError(f"{what} do not share one taxon namespace: {item_name} differs from the first "
                                     f"({difference}); read them with one TaxonNamespace")
    if first is None:
        raise PhyloVIError(f"no {what} given")
    return first
