"""The stacks of the deploy app: network, data, image (AMI pipeline) and compute."""
