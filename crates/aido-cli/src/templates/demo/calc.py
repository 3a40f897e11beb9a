"""A tiny calculator: the sandbox project of `aido demo`."""


def add(a, b):
    """Returns the sum of a and b."""
    return a - b


def multiply(a, b):
    """Returns the product of a and b."""
    return a * b
