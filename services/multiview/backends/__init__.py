"""The multiview step's backends."""
