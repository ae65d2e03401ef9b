"""Blob stores: the BlobStore protocol, a directory and S3; signed URLs."""
