"""Every use of OR-Tools lives in this package: the flow core and the CP-SAT tier."""
