import Foundation
import InferenceProbe
import InferenceSimulator
import NIOSSL
import Testing

@Suite("Web configuration (--web.config.file)")
struct WebConfigTests {
    /// Writes `text` as a web config in a fresh directory, with a self-signed certificate beside it.
    func load(_ text: String) async throws -> WebConfig {
        let files = try await TLSProbeTests.selfSignedCertificate()
        let directory = URL(fileURLWithPath: files.certificateChain).deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.moveItem(atPath: files.certificateChain, toPath: directory.appendingPathComponent("server.pem").path)
        try FileManager.default.moveItem(atPath: files.privateKey, toPath: directory.appendingPathComponent("server.key").path)
        let file = directory.appendingPathComponent("web.yml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return try WebConfig.load(file: file)
    }

    let hash = "$2y$10$TfLWvFkgBs3KdOQBsq0t2ehUCp2vYxVvZG8.6HhWDF5hZ4n8qYjze"

    @Test func readsTLSAndUsersWithPathsRelativeToTheFile() async throws {
        let config = try await load("""
            tls_server_config:
              cert_file: server.pem
              key_file: server.key
              client_auth_type: VerifyClientCertIfGiven
              client_ca_file: server.pem
              min_version: TLS13
            basic_auth_users:
              prometheus: \(hash)
            """)
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .verifyIfGiven && tls.minVersion == .tlsv13 && tls.certFile.hasSuffix("/server.pem"))
        #expect(config.users["prometheus"]?.value == hash)
        #expect(!"\(config)".contains(hash))
    }

    @Test(arguments: [
        ("basic_auth_users:\n  alice: plaintext", "basic_auth_users.alice", "bcrypt"),
        ("basic_auth_users:\n  alice: $apr1$abc$def", "basic_auth_users.alice", "bcrypt"),
        ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cipher: x", "tls_server_config.cipher", "unknown key"),
        ("tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key", "tls_server_config.cert_file", "cannot read"),
        ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert",
         "tls_server_config", "client_ca_file"),
        ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS14", "tls_server_config.min_version", "TLS14"),
        ("http2: true", "http2", "unknown key"),
    ])
    func badFilesNameTheKeyAndTheProblem(text: String, key: String, reason: String) async throws {
        do {
            _ = try await load(text)
            Issue.record("accepted: \(text)")
        } catch let error as ConfigError {
            #expect(error.key == key)
            #expect(error.reason.contains(reason))
            #expect(error.line != nil)
            #expect(!error.description.contains("plaintext"))
        }
    }
}
