"""JSON persistence of fitted topology distributions.

Document layout: ``{"format": "phylo_vi.sbn", "version": 1, "model": class name, "params":
hyperparameters, "taxa": names in namespace order, "state": fitted arrays}``. Log probabilities
of −inf are written as ``-Infinity`` (Python's JSON extension, read back by :func:`load_model`).
"""
from __future__ import annotations

import json
from pathlib import Path

from phylo_vi.errors import InputFormatError, PhyloVIError
from phylo_vi.io.text import require_file
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace
from phylo_vi.util.atomic import atomic_write


def _registry() -> dict[str, type]:
    from phylo_vi.sbn.ccd import ConditionalCladeDistribution
    from phylo_vi.sbn.rooted import RootedSubsplitBayesianNetwork
    from phylo_vi.sbn.srf import SampleRelativeFrequency
    from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork

    return {cls.__name__: cls for cls in (SampleRelativeFrequency, ConditionalCladeDistribution,
                                          SubsplitBayesianNetwork, RootedSubsplitBayesianNetwork)}


def save_model(model: TreeDistribution, path: str | Path) -> None:
    """Write ``model.to_dict()`` as JSON, atomically."""
    with atomic_write(path) as handle:
        json.dump(model.to_dict(), handle)
        handle.write("\n")


def model_from_dict(document: dict, taxa: TaxonNamespace | None = None, path: str | Path | None = None) -> TreeDistribution:
    """Rebuild a fitted model; ``taxa`` (when given) must hold the model's taxa in the same order."""
    if document.get("format") != "phylo_vi.sbn":
        raise InputFormatError("not a phylo_vi SBN model file", path)
    cls = _registry().get(document.get("model"))
    if cls is None:
        raise InputFormatError(f"unknown model type {document.get('model')!r}", path)
    try:
        names = TaxonNamespace(document["taxa"])
        taxa = names if taxa is None else common_namespace([taxa, names], what=f"{path or 'model'}: the namespace "
                                                                           "given and the model's taxa")
        model = cls(**document["params"])
        model.taxa_ = taxa
        model._load_state(document["state"])
    except PhyloVIError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InputFormatError(f"damaged model file ({type(exc).__name__}: {exc})", path) from None
    return model


def load_model(path: str | Path, taxa: TaxonNamespace | None = None) -> TreeDistribution:
    """Read a model written by :func:`save_model` (or ``model.save``)."""
    try:
        with open(require_file(path), encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    except UnicodeDecodeError:
        raise InputFormatError("not a UTF-8 text file (a model is JSON)", path) from None
    if not isinstance(document, dict):
        raise InputFormatError("not a phylo_vi SBN model file", path)
    return model_from_dict(document, taxa, path)
