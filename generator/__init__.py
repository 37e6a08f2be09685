"""hls4ml-style generator: AcceleratorDesign + weights -> VHDL, testbench, synthesis, project files.

Each stage returns an in-memory file system {relative path: text}; generator.writer writes it out.
"""

from generator.conv_vhdl import emit_conv1d
from generator.export import emit_all, export
from generator.pool_vhdl import emit_pool1d
from generator.recurrent_vhdl import emit_recurrent
from generator.testbench import emit_testbench, stimulus_vectors
from generator.vhdl import EMITTERS, emit_vhdl
from generator.writer import OutputExistsError, write_files

# Kinds whose emitters live outside generator.vhdl (whose hash keys the dense calibration cache).
EMITTERS["conv1d"] = emit_conv1d
EMITTERS["maxpool1d"] = emit_pool1d
EMITTERS["avgpool1d"] = emit_pool1d
EMITTERS["lstm"] = emit_recurrent
EMITTERS["gru"] = emit_recurrent

__all__ = ["OutputExistsError", "emit_all", "emit_testbench", "emit_vhdl", "export", "stimulus_vectors", "write_files"]
