"""One module per verb; noun groups are packages with one module per verb."""
