"""Use-cases: one function each, one unit of work each."""
