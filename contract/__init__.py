"""The contract: layer descriptions, the fixed-point spec, activations, the integer reference model and the
device table. It imports nothing from the rest of the project; everything else reads its numbers from here."""
