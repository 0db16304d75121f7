"""Municipal side of the broker: service wiring, persistence and the command line."""
