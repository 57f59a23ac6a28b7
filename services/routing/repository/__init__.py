"""Every query of the routing service, one module per table family."""
