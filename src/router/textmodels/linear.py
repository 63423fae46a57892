"""Linear classifiers for the large-history form: NB-SVM with a fitted softmax temperature."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["NBSVM", "softmax", "CALIBRATION_SHARE"]

# Share of the examples held out to fit the NB-SVM's softmax temperature.
CALIBRATION_SHARE = 0.2


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class NBSVM:
    """One-vs-rest linear SVMs on features scaled by naive Bayes log-count ratios.

    Each class gets the ratio ``r`` of how often a feature occurs in its examples against the
    others', and a linear SVM on ``X * r``; ``coef_`` stores ``r * w`` so that scoring is one
    sparse product, like any linear model. Probabilities are a softmax of the scores at a
    temperature fitted on a held-out share of the examples.
    """

    def __init__(self, *, C: float = 1.0, alpha: float = 1.0, calibration_share: float = CALIBRATION_SHARE,
                 random_state: int = 0):
        self.C = C
        self.alpha = alpha
        self.calibration_share = calibration_share
        self.random_state = random_state

    def _fit_linear(self, X: sp.csr_matrix, y: np.ndarray, weights: np.ndarray, classes: np.ndarray):
        from sklearn.svm import LinearSVC

        present = X.copy()
        present.data[:] = 1.0
        coef = np.zeros((len(classes), X.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(classes), dtype=np.float32)
        for j, label in enumerate(classes):
            positive = y == label
            p = self.alpha + np.asarray(present.T @ (weights * positive)).ravel()
            q = self.alpha + np.asarray(present.T @ (weights * ~positive)).ravel()
            ratio = (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)
            svm = LinearSVC(C=self.C, dual=True, max_iter=2000, random_state=self.random_state)
            svm.fit(X @ sp.diags(ratio), positive, sample_weight=weights)
            coef[j] = ratio * svm.coef_[0]
            intercept[j] = svm.intercept_[0]
        return coef, intercept

    def fit(self, X, y, sample_weight=None) -> "NBSVM":
        X = sp.csr_matrix(X, dtype=np.float32)
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.classes_ = np.unique(y)
        self.temperature_ = self._fit_temperature(X, y, weights)
        self.coef_, self.intercept_ = self._fit_linear(X, y, weights, self.classes_)
        return self

    def _fit_temperature(self, X, y, weights) -> float:
        rng = np.random.default_rng(self.random_state)
        held = rng.random(len(y)) < self.calibration_share
        fit_classes = np.unique(y[~held])
        scored = held & np.isin(y, fit_classes)
        if len(fit_classes) < 2 or scored.sum() < 2:
            return 1.0
        coef, intercept = self._fit_linear(X[~held], y[~held], weights[~held], fit_classes)
        scores = np.asarray(X[scored] @ coef.T) + intercept
        truth = np.searchsorted(fit_classes, y[scored])
        best, best_loss = 1.0, np.inf
        for temperature in np.geomspace(0.02, 5.0, 80):
            z = scores / temperature
            z -= z.max(axis=1, keepdims=True)
            loss = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(truth)), truth]))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        return best

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        return softmax(self.decision_function(X), self.temperature_)
