"""The evaluation report of the shipped models (``latentjam evaluate``): measures on each
model's held-out split, pictures of its samples and interpolations, docs/models.md."""
