"""The municipal backend kit: a consumer of `iaj.results` and a producer of commands on
`iaj.commands`, in plain aiokafka (see README.md in this folder)."""
