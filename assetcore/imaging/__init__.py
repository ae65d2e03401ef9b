"""Image decoding, encoding and subject mattes shared by the image steps."""
