"""Feature datasets: model-independent text + character spans + binary labels + a fixed split."""

from sparseprobe.datasets.schema import (
    AGGREGATIONS,
    FeatureDataset,
    assign_split,
    feature_category,
    load_feature_dataset,
    write_feature_dataset,
)

__all__ = [
    "AGGREGATIONS",
    "FeatureDataset",
    "assign_split",
    "feature_category",
    "load_feature_dataset",
    "write_feature_dataset",
]
