"""The pipeline's steps, in the order the composition root lists them."""
