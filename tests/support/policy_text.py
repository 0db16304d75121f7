"""The [[track]] and [[label]] tables every policy text in the tests needs, appended at its
end so that the line numbers of the entries above stay put."""

__all__ = ["TRAILER"]

TRAILER = """
[[track]]
track = "iaj"
below_age = 23
criteria_any = ["politiecontacten"]
colours = ["groen", "oranje", "rood"]

[[track]]
track = "bit"
below_age = 28
criteria_any = ["gedrag_gecontinueerd"]
colours = ["rood"]

[[label]]
colour = "groen"
family = false

[[label]]
colour = "oranje"
family = true

[[label]]
colour = "rood"
family = true
"""
