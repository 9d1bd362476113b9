import Foundation
import NIOSSL
@testable import InferenceProbe
import InferenceSimulator
import Testing

/// https and wss probes against the simulator serving TLS with a throw-away self-signed certificate.
@Suite("TLS targets")
struct TLSProbeTests {
    /// A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl command.
    static func selfSignedCertificate(name: String = "localhost") async throws -> TLSFiles {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inference-probe-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = TLSFiles(certificateChain: directory.appendingPathComponent("cert.pem").path,
                             privateKey: directory.appendingPathComponent("key.pem").path)
        let (status, output) = try await runProcess("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)" + (name == "localhost" ? ",IP:127.0.0.1" : ""),
            "-keyout", files.privateKey, "-out", files.certificateChain,
        ])
        try #require(status == 0, "openssl could not make a certificate: \(output)")
        return files
    }

    /// Probes the TLS simulator; `trust` adds its certificate as the target's `ca_file`.
    func probe(_ transport: String, trust: Bool, skipVerify: Bool = false, certificateName: String = "localhost") async throws -> ProbeResult {
        let files = try await Self.selfSignedCertificate(name: certificateName)
        var settings = fixedSettings(ttft: .milliseconds(10), interToken: .milliseconds(1), tokens: 4)
        settings.tls = files
        return try await withSimulator(settings) { port in
            var target = loopbackTarget(port: port)
            target.baseURL = BaseURL(secure: true, host: "localhost", port: port, path: "/v1")
            target.tls = TLSSettings(insecureSkipVerify: skipVerify, caFile: trust ? files.certificateChain : nil)
            return try await makeProber(transport, target).probe()
        }
    }

    @Test(arguments: TransportCatalog.names)
    func trustedCertificateSucceedsAndTimesTheHandshake(transport: String) async throws {
        let result = try await probe(transport, trust: true)
        #expect(result.outcome == .success, "\(result.detail ?? "")")
        #expect(result.outputTokens == 4)
        let phases = ProbeMeasurement(result).connectionPhases.map(\.name)
        #expect(phases.prefix(3) == ["dns", "connect", "tls"])
        #expect(result.timeline.tlsEstablished! >= result.timeline.connected!)
        #expect(result.timeline.requestStarted! >= result.timeline.tlsEstablished!, "the request waits for TLS")
    }

    @Test(arguments: TransportCatalog.names)
    func untrustedCertificateIsATLSError(transport: String) async throws {
        let result = try await probe(transport, trust: false)
        #expect(result.outcome == .tlsError, "\(result.detail ?? "")")
        let detail = result.detail ?? ""
        #expect(detail.contains("untrusted CA") && detail.contains("CN=localhost"), "says why, in words: \(detail)")
        #expect(!detail.contains(".build") && !detail.contains("BoringSSL"), "no library internals: \(detail)")
    }

    @Test func certificateForAnotherNameIsANameMismatch() async throws {
        let result = try await probe("http", trust: true, certificateName: "other.example")
        #expect(result.outcome == .tlsError, "\(result.detail ?? "")")
        #expect(result.detail?.contains("name mismatch: localhost") == true, "\(result.detail ?? "")")
        #expect(result.detail?.contains("other.example") == true, "\(result.detail ?? "")")
    }

    @Test func verificationCanBeSkippedForTestEndpoints() async throws {
        let result = try await probe("http_sse", trust: false, skipVerify: true)
        #expect(result.outcome == .success, "\(result.detail ?? "")")
    }
}

/// Probers with the same TLS settings share one client context (each holds a parsed trust store);
/// a CA file whose content changed gets a new one, and unused contexts are freed.
@Suite("Shared TLS contexts")
struct ClientTLSContextTests {
    @Test func probersShareAContextPerSetting() async throws {
        let system = try ClientTLSContexts.context(for: TLSSettings())
        #expect(try ClientTLSContexts.context(for: TLSSettings()) === system)
        let insecure = try ClientTLSContexts.context(for: TLSSettings(insecureSkipVerify: true))
        #expect(insecure !== system)

        let first = try await TLSProbeTests.selfSignedCertificate()
        let second = try await TLSProbeTests.selfSignedCertificate()
        let withCA = try ClientTLSContexts.context(for: TLSSettings(caFile: first.certificateChain))
        #expect(try ClientTLSContexts.context(for: TLSSettings(caFile: first.certificateChain)) === withCA)
        // The file is replaced in place (a rotated Kubernetes secret): a new context.
        try FileManager.default.removeItem(atPath: first.certificateChain)
        try FileManager.default.copyItem(atPath: second.certificateChain, toPath: first.certificateChain)
        #expect(try ClientTLSContexts.context(for: TLSSettings(caFile: first.certificateChain)) !== withCA)
        // A bad CA file is still an error at start-up.
        #expect(throws: (any Error).self) { try ClientTLSContexts.context(for: TLSSettings(caFile: "/nonexistent/ca.pem")) }
    }

    @Test func aContextNoProberHoldsIsFreed() async throws {
        let files = try await TLSProbeTests.selfSignedCertificate()  // a setting no other test uses
        weak var dropped: NIOSSLContext?
        do {
            let context = try ClientTLSContexts.context(for: TLSSettings(caFile: files.certificateChain))
            dropped = context
            #expect(dropped != nil)
        }
        #expect(dropped == nil, "the cache holds contexts weakly")
    }
}
