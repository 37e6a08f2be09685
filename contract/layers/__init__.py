"""Layer kinds. Importing this package registers every kind in ``KINDS``."""

from contract.layers.base import KINDS, PLACEMENTS, Knob, Layer, LayerShape, layer_from_dict, register
from contract.layers.conv import Conv1dLayer, ConvFolding, ConvWeights
from contract.layers.dense import DenseFolding, DenseLayer, DenseWeights
from contract.layers.pool import AvgPool1dLayer, MaxPool1dLayer, PoolFolding
from contract.layers.recurrent import GruLayer, LstmLayer, RecurrentFolding, RecurrentLayer, RecurrentWeights

__all__ = [
    "KINDS",
    "AvgPool1dLayer",
    "MaxPool1dLayer",
    "PoolFolding",
    "GruLayer",
    "LstmLayer",
    "RecurrentFolding",
    "RecurrentLayer",
    "RecurrentWeights",
    "PLACEMENTS",
    "Conv1dLayer",
    "ConvFolding",
    "ConvWeights",
    "DenseFolding",
    "DenseLayer",
    "DenseWeights",
    "Knob",
    "Layer",
    "LayerShape",
    "layer_from_dict",
    "register",
]
