import Foundation
import InferenceProbe
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
