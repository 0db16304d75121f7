"""What a partner runs on its own premises; depends on `contracts` only."""
