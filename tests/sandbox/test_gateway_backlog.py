"""The local gateway queues a burst of new connections instead of dropping them: with a short listen backlog, a
burst of clients connecting at once (a load test's 16 clients) loses handshakes, and each lost one waits for TCP's
one-second retransmission, which shows up as a false one-second tail in every benchmark."""

from __future__ import annotations

import socket

from awspatterns.sandbox.gateway.server import LocalGateway, serve_gateway

BURST = 64


def test_a_burst_of_connections_is_queued_while_the_gateway_is_busy():
    http = serve_gateway(LocalGateway(invoke=lambda *_: None, aws_endpoint="http://localhost:1"))
    http.shutdown()  # the accept loop stops (the gateway is busy); the socket still listens
    connections: list[socket.socket] = []
    try:
        for _ in range(BURST):
            # The kernel completes a handshake into the listen queue without the server: one that does not fit is
            # dropped and the connect waits for a retransmission, longer than this timeout.
            connections.append(socket.create_connection(("127.0.0.1", http.server_address[1]), timeout=0.5))
    finally:
        for connection in connections:
            connection.close()
        http.server_close()
    assert len(connections) == BURST
