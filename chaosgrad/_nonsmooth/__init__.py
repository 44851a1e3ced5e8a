"""Non-smooth dynamics: first-order against zeroth-order estimates of a smoothed loss's gradient (``estimators``), their result, and the non-smooth cause."""
