"""Write the data sets that scikit-learn ships as CSV files for mclust.

``python benchmarks/sklearn_data_csv.py OUTDIR`` writes ``wine``, ``wine_s``
(standardised), ``diabetes_sk`` (unscaled), ``linnerud_ex`` and
``linnerud_phys`` (its two tables) and ``cancer10_s`` (the first ten columns
of ``breast_cancer``, standardised) to ``OUTDIR``. Then
``Rscript benchmarks/mclust_family_panel.R REFDIR OUTDIR`` writes mclust's
BIC tables for them, and ``python benchmarks/bench_selector_mclust.py
REFDIR`` compares the selector cell by cell (results in
``family_mclust_panel_results.md`` and, for the four types,
``selector_mclust_results.md``).
"""

import sys
from pathlib import Path

import pandas as pd
from sklearn import datasets
from sklearn.preprocessing import StandardScaler


def standardised(frame):
    """The columns centred and scaled to unit variance, as ``StandardScaler``."""
    return pd.DataFrame(StandardScaler().fit_transform(frame), columns=frame.columns)


def main(outdir):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    wine = datasets.load_wine(as_frame=True).data
    linnerud = datasets.load_linnerud(as_frame=True)
    cancer = datasets.load_breast_cancer(as_frame=True).data.iloc[:, :10]
    frames = {
        "wine": wine,
        "wine_s": standardised(wine),
        "diabetes_sk": datasets.load_diabetes(as_frame=True, scaled=False).data,
        "linnerud_ex": linnerud.data,
        "linnerud_phys": linnerud.target,
        "cancer10_s": standardised(cancer),
    }
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1])
