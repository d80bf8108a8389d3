"""Exception types. Each names the file, key or column at fault and what was expected."""


class SparseProbeError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceError(SparseProbeError):
    """A pinned source could not be fetched or does not match its checksum."""


class DatasetError(SparseProbeError):
    """A feature dataset is malformed (missing column, empty, single-class feature...)."""


class ModelLoadError(SparseProbeError):
    """A model could not be loaded or does not match its declared shape."""


class ActivationStoreError(SparseProbeError):
    """An activation store is missing, incomplete or does not match its dataset."""


class ProbeError(SparseProbeError):
    """A probe could not be fitted or its inputs are inconsistent."""


class SummaryError(SparseProbeError):
    """A summary table or its inputs are inconsistent, or a name asked for is not in them."""


class NeuronStudyError(SparseProbeError):
    """A neuron table is malformed, or a neuron case study / ablation cannot run as asked (an
    unknown dataset or feature, a model that is not a causal language model)."""


class ReportError(SparseProbeError):
    """A summary table handed to a figure lacks a column or the rows the figure needs."""
