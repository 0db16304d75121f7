"""Examples for the systems around iaj-broker (not installed; see each folder's README)."""
