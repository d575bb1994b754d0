"""``ci-mlops demo``: a small, real git + DVC ML project and the whole ci-mlops loop on it, offline.

``project/`` holds the project's files verbatim (``ci-mlops.yml`` and ``gitignore``
are renamed to their dotted names when copied); ``data.py`` makes its dataset;
``scenario.py`` runs the steps.
"""
