"""Summaries: polars tables built from probe result rows only (the result schema); the figures
drawn from them are in ``sparseprobe.report.plots``. docs/summaries.md describes every table;
the contract the other stages read is there. One module per idea:

- ``model``: per-model probe rows with categories (table 1) and best layers (table 2);
- ``neuron_tables``: single-neuron probes, best neurons and neurons above a threshold (3, 4);
- ``neurons``: reading the neuron tables (the case studies' and ablation's input);
- ``scaling``: a family's scaling table (5) and per-model means (6);
- ``dynamics``: scaling dynamics (7);
- ``training``: the same tables along a checkpoint (training) axis;
- ``seeds``: which neuron-level claims of a ladder rung hold in its replicates (``ladder.seeds``).

Every public name is re-exported here: ``from sparseprobe import summaries as S;
S.best_layers(probes)``.

Definitions (used by every table):


- *selection* (``summaries.selection``): the split every choice below is made on. ``validation``
  (default): the part of the train split held out by ``split.validation_fraction``; the test
  split then only reports what validation chose, so its F1s are honest estimates for those
  choices. ``test``: the paper's protocol (choices on the split they are scored on, an
  optimistic summary). Every table says which in ``selected_on``; rows without validation
  metrics (``validation_fraction: 0``) are chosen on test and labelled ``test``.
- *best layer* of (model, dataset, feature, method, k): the layer whose probe has the highest
  F1 on the selection split (regression targets: R^2; ties: higher validation ROC-AUC, then the
  shallower layer), reported with ``layers_within``: every layer within 1.96 standard errors of
  it (``layer_low`` .. ``layer_high``, what a figure should draw).
- *relative depth* of layer L in an n-layer model: (L + 1) / n.
- *F1 at k* for k larger than a model's d_mlp reads the k = d_mlp probe (the grid is capped).
- *sweep*: the rows of the ``mean_diff`` ranking (regression targets: ``correlation``), the
  paper's default k-sparse sweep; ``f1_k{k}``, ``k_90``, ``k_95`` and ``gap`` read it.
- *single-neuron probe*: any binary (classification) row with k = 1 whose one neuron is a neuron
  of the model's own basis: the 30 ``single_neuron`` rows per layer and the k = 1 rows of every
  ranking or search method (``mean_diff``, ``anova_f``, ``optimal``, ...; a method added later
  counts without a code change). Excluded: ``dense`` and the controls ``random_basis`` (its
  "neurons" are rotated directions) and ``shuffled_labels`` (trained on permuted labels).
- *best single neuron* of a feature: the single-neuron probe with the highest F1 on the
  selection split over every layer and method (ties: higher MCC on that split, then shallower
  layer, lower neuron index, method name), reported with its test F1. Chosen on validation, the
  test F1 is an honest estimate for that one neuron; chosen on test it is the maximum over up to
  30+ candidates per layer (optimistic). It says that one neuron reads the feature out this
  well; it does not say the neuron is dedicated to the feature (test it with the
  ``random_basis`` control and ablations) nor that no other neuron does as well.
- *headline features*: binary features with at least ``summaries.min_test_positives`` test
  positives and negatives whose dense probe beats the always-positive F1 2p/(1+p) and the
  ``shuffled_dense`` control (``in_headline`` in table 5); table 6's means and counts, with
  bootstrap intervals over features, are over them.
"""

from sparseprobe.summaries.model import (
    MODEL_COLUMNS,
    SELECTIONS,
    add_categories,
    best_layers,
    dataset_categories,
    read_probe_summaries,
    require_columns,
    write_model_summary,
)
from sparseprobe.summaries.neuron_tables import (
    NEURON_COLUMNS,
    NOT_NEURON_METHODS,
    best_neurons,
    neurons_above,
    single_neuron_probes,
    write_neuron_tables,
)
from sparseprobe.summaries.scaling import (
    HEADLINES,
    MIN_TEST_POSITIVES,
    SWEEP_METHODS,
    feature_bootstrap,
    first_k_reaching,
    model_means,
    scaling_table,
    write_scaling_table,
)
from sparseprobe.summaries.dynamics import (
    DYNAMICS,
    DynamicsThresholds,
    classify_dynamic,
    dynamics_table,
    fitted_change,
    write_family_tables,
)
from sparseprobe.summaries.neurons import (
    check_neuron_table,
    neuron_of,
    read_neuron_table,
    top_neurons,
)
from sparseprobe.summaries.seeds import replicates, seed_claims, seed_summary
from sparseprobe.summaries.training import k_to_reach, training_table, write_training_table

__all__ = [
    "MODEL_COLUMNS",
    "add_categories",
    "best_layers",
    "dataset_categories",
    "read_probe_summaries",
    "require_columns",
    "write_model_summary",
    "NEURON_COLUMNS",
    "NOT_NEURON_METHODS",
    "best_neurons",
    "neurons_above",
    "single_neuron_probes",
    "write_neuron_tables",
    "SWEEP_METHODS",
    "HEADLINES",
    "MIN_TEST_POSITIVES",
    "SELECTIONS",
    "feature_bootstrap",
    "first_k_reaching",
    "model_means",
    "scaling_table",
    "write_scaling_table",
    "DYNAMICS",
    "DynamicsThresholds",
    "classify_dynamic",
    "dynamics_table",
    "fitted_change",
    "write_family_tables",
    "check_neuron_table",
    "read_neuron_table",
    "top_neurons",
    "neuron_of",
    "k_to_reach",
    "training_table",
    "write_training_table",
    "replicates",
    "seed_claims",
    "seed_summary",
]
