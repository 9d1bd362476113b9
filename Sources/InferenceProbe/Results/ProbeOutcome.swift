/// How one probe ended. The raw value is the `outcome` label on `inference_probe_probes_total`.
public enum ProbeOutcome: String, Sendable, CaseIterable, Codable {
    /// A complete, well-formed response with at least one output token.
    case success
    /// The probe's deadline passed before the response ended (stalled target, slow DNS, slow connect).
    case timeout
    /// The target's host name could not be resolved.
    case dnsError = "dns_error"
    /// The TCP connection could not be established (refused, unreachable).
    case connectError = "connect_error"
    /// The TLS handshake failed (bad certificate, wrong host name, protocol mismatch).
    case tlsError = "tls_error"
    /// The target answered 429 Too Many Requests.
    case rateLimited = "rate_limited"
    /// The target answered with another non-2xx status (401, 404, 5xx, a refused WebSocket upgrade).
    case httpError = "http_error"
    /// The connection was closed or reset before the response ended.
    case connectionClosed = "connection_closed"
    /// The response broke the protocol: malformed JSON or SSE, oversized frame or body, no tokens.
    case protocolError = "protocol_error"
}
