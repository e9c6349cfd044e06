"""Pure rules of the product: no I/O, time and randomness passed in."""
