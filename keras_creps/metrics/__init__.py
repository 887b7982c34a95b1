"""Quality metrics of generators: distances, feature networks and named protocols.

Distances (NumPy/SciPy on features or images):
    frechet_distance, kernel_distance, precision_recall, sliced_wasserstein_distance
Feature networks (never downloaded here; see `feature_network`):
    feature_network("inception_torchscript" | "inception_keras" | "auto", weights=...)
Named protocols, as in the StyleGAN papers (`fid50k_full`, `kid50k_full`,
`pr50k3_full`, their `_keras` variants, `swd_full`, `scale_consistency`,
`eqt`, `eqt_int`):
    calc_metric(name, generator, data=...), list_metrics()

Example:
```python
from keras_creps.data.default import default_dataset_path
from keras_creps.metrics import calc_metric
record = calc_metric("swd_full", generator, data=default_dataset_path())  # the built-in emoji set
print(record["results"])  # {"swd_full": ..., "swd_full_64": ..., ...}
```
"""

from keras_creps.metrics.feature_network import FeatureNetwork
from keras_creps.metrics.feature_network import feature_network
from keras_creps.metrics.frechet_distance import feature_statistics
from keras_creps.metrics.frechet_distance import frechet_distance
from keras_creps.metrics.frechet_distance import frechet_distance_from_statistics
from keras_creps.metrics.kernel_distance import kernel_distance
from keras_creps.metrics.precision_recall import precision_recall
from keras_creps.metrics.protocols import calc_metric
from keras_creps.metrics.protocols import list_metrics
from keras_creps.metrics.protocols import report_metric
from keras_creps.metrics.sliced_wasserstein import sliced_wasserstein_distance

__all__ = [
    "FeatureNetwork",
    "calc_metric",
    "feature_network",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "kernel_distance",
    "list_metrics",
    "precision_recall",
    "report_metric",
    "sliced_wasserstein_distance",
]
