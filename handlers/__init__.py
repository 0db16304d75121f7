"""The municipal message handlers: the service layer that acts on each message."""
