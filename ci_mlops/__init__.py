"""ci-mlops: a real CI/CD loop for ML repositories on GitHub."""

__version__ = "0.1.0"
