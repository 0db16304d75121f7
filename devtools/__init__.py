"""Tools for developing and testing iaj-broker: local servers the test suite and `make`
targets start. Not part of what production installs (not in the wheel or the image)."""
