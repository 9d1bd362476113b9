/// How one probe ended. The raw value is the `outcome` label on `inference_probe_probes_total`.
///
/// Each failure names who is to blame and what to do: our key (`auth_error`), our quota (`rate_limited`),
/// our request (`client_error`), their servers (`server_error`), the network (`dns_error`, `connect_*`,
/// `tls_error`), or the stream itself (`first_token_timeout`, `stream_stall`, `truncated`, ...).
public enum ProbeOutcome: String, Sendable, CaseIterable, Codable {
    /// A complete, well-formed response with output that met the target's expectations.
    case success
    /// The host name could not be resolved (or its resolution timed out).
    case dnsError = "dns_error"
    /// The TCP connection was refused or the host was unreachable.
    case connectError = "connect_error"
    /// Opening the connection (TCP, TLS, WebSocket upgrade) took longer than `connect_timeout`.
    case connectTimeout = "connect_timeout"
    /// The egress proxy refused the `CONNECT` tunnel (407, 403, 502, ...) or answered it with no HTTP.
    case proxyError = "proxy_error"
    /// The TLS handshake failed (bad certificate, wrong host name, protocol mismatch).
    case tlsError = "tls_error"
    /// 401 or 403 (also as a refused WebSocket upgrade), or an in-band authentication or permission error.
    case authError = "auth_error"
    /// 429 Too Many Requests, or an in-band rate-limit or quota error.
    case rateLimited = "rate_limited"
    /// Another 4xx, or an in-band error blaming the request (`invalid_request_error`).
    case clientError = "client_error"
    /// A 5xx (529 included), or an in-band server or overload error.
    case serverError = "server_error"
    /// No output text within `first_token_timeout` of sending the request (streaming transports).
    case firstTokenTimeout = "first_token_timeout"
    /// The stream went silent for `stall_timeout` after its first output text.
    case streamStall = "stream_stall"
    /// The probe's overall `timeout` passed.
    case timeout
    /// The response ended or its connection closed after output text but before the API's terminal event.
    case truncated
    /// The connection was closed or reset before any output text.
    case connectionClosed = "connection_closed"
    /// A line, frame, message or body larger than the prober accepts.
    case oversize
    /// The response broke the protocol: malformed JSON or SSE, wrong content type, no output at all.
    case protocolError = "protocol_error"
    /// The answer did not match the target's `expect:` (regex, minimum tokens).
    case contentMismatch = "content_mismatch"
}
