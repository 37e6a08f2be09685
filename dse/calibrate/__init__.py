"""`dse calibrate`: synthesis sweeps, estimator fits, power recalibration and the idle-vs-off strategy."""
