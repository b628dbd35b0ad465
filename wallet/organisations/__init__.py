"""Organisations (makerspaces, museums, youth centres), their members and roles."""
