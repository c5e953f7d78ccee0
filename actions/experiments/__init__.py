"""Experiments that optimise themselves: exposures and goal events kept, Bayesian figures,
Thompson allocation, the stopping rule and the staff's report."""
