"""The taxon namespace: one ordered list of taxon names shared by every tree of a sample."""
from __future__ import annotations

from typing import Iterable, Iterator

from phylo_vi.errors import PhyloVIError


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
