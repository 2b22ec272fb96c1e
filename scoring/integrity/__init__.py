"""Data integrity (anti-gaming): readings that are likely not the member's own or not real.

Rules with stated physiology behind them, plus an unsupervised model (IsolationForest) over
member-day activity features. A flag never cuts a discount by itself: it HOLDS the flagged
period for review, with its evidence; the review outcome is recorded (docs/models.md).
"""
