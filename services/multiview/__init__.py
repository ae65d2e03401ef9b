"""The multiview step: six consistent views of the subject from its concept image."""
