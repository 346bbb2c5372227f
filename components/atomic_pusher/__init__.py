"""Pusher executor that makes a new serving version appear in one rename."""
