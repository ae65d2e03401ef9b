#!/opt/venv/bin/python
"""Container health check: exit 0 when the gRPC health service on 127.0.0.1:PORT says SERVING.

A step service reports NOT_SERVING until its backend has loaded (models on a GPU), so ECS
neither counts a task healthy nor finishes a deployment before the task can do work.
"""

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_S = 3.0


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.stderr.write("usage: assetcore-healthcheck PORT\n")
        return 2
    with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S
            )
        except grpc.RpcError as exc:
            sys.stderr.write(f"health check failed: {exc.code().name}\n")
            return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
