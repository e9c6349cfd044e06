"""HTTP surfaces: the GT365 API, the Graph-compatible API, identity endpoints, pages."""
