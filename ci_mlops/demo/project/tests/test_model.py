import numpy as np
from model import predict_proba


def test_probabilities_are_between_0_and_1():
    model = {"mean": np.zeros(2), "std": np.ones(2), "weights": np.array([2.0, -3.0]), "bias": 0.5}
    proba = predict_proba(model, np.array([[10.0, 0.0], [0.0, 10.0], [0.0, 0.0]]))
    assert ((proba > 0) & (proba < 1)).all()
    assert proba[0] > 0.5 > proba[1]
