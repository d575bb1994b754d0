"""Gates that know noise: confidence intervals for metric changes.

* :mod:`~ci_mlops.significance.bootstrap`: paired bootstrap over one evaluation set (NumPy).
* :mod:`~ci_mlops.significance.seeds`: t and Wilcoxon intervals over per-seed runs.
* :mod:`~ci_mlops.significance.evidence`: reads predictions / seed files at base and head
  and attaches each gated metric's interval to the report (see docs/significance.md).
"""
