import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Says in words why a TLS handshake failed (instead of BoringSSL's error stack with the build machine's
/// paths), and, for a certificate that was refused, what the certificate is.
enum TLSFailureReport {
    /// BoringSSL reason codes and what they mean to an operator.
    private static let reasons: [(code: String, words: String)] = [
        ("CERTIFICATE_VERIFY_FAILED", "the server's certificate could not be verified"),
        ("WRONG_VERSION_NUMBER", "the server does not speak TLS on this port"),
        ("UNSUPPORTED_PROTOCOL", "no TLS protocol version in common with the server"),
        ("TLSV1_ALERT_PROTOCOL_VERSION", "the server refused the TLS protocol version"),
        ("SSLV3_ALERT_HANDSHAKE_FAILURE", "the server refused the handshake (no common cipher or version)"),
        ("NO_SHARED_CIPHER", "no cipher in common with the server"),
        ("CERTIFICATE_REQUIRED", "the server requires a client certificate"),
        ("TLSV1_ALERT_UNKNOWN_CA", "the server does not trust the client certificate's issuer"),
        ("TLSV1_UNRECOGNIZED_NAME", "the server does not know the requested server name (SNI)"),
    ]

    /// One line, in words, for a TLS error.
    static func reason(_ error: any Error) -> String {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate is not valid for this host name"
        }
        switch error {
        case NIOSSLError.uncleanShutdown:
            return "the server closed the connection during the handshake"
        case let error as NIOSSLError:
            if case .handshakeFailed(let stack) = error {
                let text = "\(stack)"
                if let known = reasons.first(where: { text.contains($0.code) }) { return known.words }
                return "handshake failed"
            }
            return "\(error)"
        default:
            let text = "\(error)"
            return reasons.first(where: { text.contains($0.code) })?.words ?? "handshake failed"
        }
    }

    /// `true` when the error is a refused server certificate, so that looking at it explains more.
    static func isCertificateRefusal(_ error: any Error) -> Bool {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { return true }
        return "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
    }

    /// Why `certificate` was refused for `serverName`, as far as can be told without the trust store's
    /// verdict: expired, not yet valid, issued for other names, or else an issuer that is not trusted.
    static func describe(_ certificate: NIOSSLCertificate, serverName: String?, now: Date = Date()) -> String {
        let summary = "\(certificate)"
        func field(_ name: String) -> String? {
            guard let range = summary.range(of: ";\(name)=") else { return nil }
            return String(summary[range.upperBound...].prefix { $0 != ";" && $0 != ">" })
        }
        let names = [field("common_name")].compactMap { $0 } + (field("alternative_names")?.split(separator: ",").map(String.init) ?? [])
        let subject = "subject CN=\(field("common_name") ?? "-")"
            + (field("alternative_names").map { ", names \($0)" } ?? "")
        let formatter = ISO8601DateFormatter()
        let notAfter = Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter))
        let notBefore = Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore))
        if now > notAfter { return "certificate expired on \(formatter.string(from: notAfter)) (\(subject))" }
        if now < notBefore { return "certificate not valid before \(formatter.string(from: notBefore)) (\(subject))" }
        if let serverName, !names.contains(where: { matches($0, serverName) }) {
            return "certificate name mismatch: \(serverName) is not among its names (\(subject))"
        }
        return "certificate issued by an untrusted CA, or self-signed (\(subject))"
    }

    /// RFC 6125 matching of one certificate name (possibly `*.example.com`) against a host name.
    static func matches(_ pattern: String, _ host: String) -> Bool {
        let (pattern, host) = (pattern.lowercased(), host.lowercased())
        guard pattern.hasPrefix("*.") else { return pattern == host }
        guard let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == pattern.dropFirst()
    }

    /// Fetches the server's certificate over a second connection that does not verify it (only its
    /// facts are read; nothing is sent), or `nil` if that fails too.
    static func peerCertificate(
        at address: SocketAddress, serverName: String?, on eventLoop: any EventLoop, timeout: TimeAmount
    ) async -> NIOSSLCertificate? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        guard let context = try? NIOSSLContext(configuration: configuration) else { return nil }
        let handshake = eventLoop.makePromise(of: ConnectionPhases.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(ConnectionPhaseRecorder(expectsTLS: true, ready: handshake))
                }
            }
        guard let channel = try? await bootstrap.connect(to: address).get() else {
            handshake.fail(ChannelError.alreadyClosed)
            return nil
        }
        let timer = eventLoop.scheduleTask(in: timeout) { handshake.fail(ChannelError.connectTimeout(timeout)) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        guard (try? await handshake.futureResult.get()) != nil else { return nil }
        return try? await channel.nioSSL_peerCertificate().get()
    }
}
