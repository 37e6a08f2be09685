"""dse: joint DNN + accelerator design-space exploration for embedded FPGAs."""

__version__ = "0.1.0"
