"""Data package: installed with qbwc_bridge so that a non-editable install finds it."""
