import Foundation
import NIOSSL
import Yams

/// The endpoint's TLS and basic authentication, read from `--web.config.file` in the format of
/// Prometheus's exporter-toolkit, so one file can serve this sidecar and the exporters beside it:
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.pem
///   key_file: server.key
///   client_auth_type: RequireAndVerifyClientCert
///   client_ca_file: ca.pem
///   min_version: TLS12
/// basic_auth_users:
///   prometheus: $2y$10$...   # bcrypt
/// ```
public struct WebConfig: Sendable {
    /// TLS of every connection; `nil` serves plain HTTP.
    public var tls: TLSServerSettings?
    /// Users and their bcrypt hashes; empty means no authentication.
    public var users: [String: Secret]

    public init(tls: TLSServerSettings? = nil, users: [String: Secret] = [:]) {
        self.tls = tls
        self.users = users
    }

    /// Reads and checks `file`: unknown keys, unreadable certificates and hashes that are not bcrypt are
    /// errors naming the file, the line and the key. Relative paths are relative to the file's directory.
    public static func load(file: String) throws(ConfigError) -> WebConfig {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, key: "", reason: FileManager.default.fileExists(atPath: file) ? "cannot read the file" : "no such file")
        }
        let root = try YAMLConfigNode.document(String(decoding: data, as: UTF8.self), file: file, whenEmpty: "")
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let top = try root.mapping(allowed: ["tls_server_config", "basic_auth_users"])
        var config = WebConfig()
        if let tls = top["tls_server_config"] {
            config.tls = try TLSServerSettings.parse(tls, relativeTo: directory)
        }
        if let users = top["basic_auth_users"] {
            guard let mapping = users.node.mapping else { throw users.error("must be a mapping of user names to bcrypt hashes") }
            for (name, hash) in mapping {
                guard let user = name.string, !user.isEmpty else { throw users.error("has a user name that is not a string") }
                let entry = users.child(user, hash)
                let value = try entry.nonEmptyString()
                guard Self.isBcrypt(value) else {
                    throw entry.error("is not a bcrypt hash (make one with `htpasswd -nbBC 10 USER PASSWORD`)")
                }
                config.users[user] = Secret(value)
            }
        }
        return config
    }

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost and 53 characters of salt and hash.
    static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2"), [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost)
        else { return false }
        return true
    }
}

/// `tls_server_config`: the server certificate and, for mutual TLS, how client certificates are checked.
public struct TLSServerSettings: Sendable {
    /// exporter-toolkit's `client_auth_type` values this endpoint can enforce.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case none = "NoClientCert"
        case verifyIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerify = "RequireAndVerifyClientCert"
    }

    public var certFile: String
    public var keyFile: String
    public var clientAuth: ClientAuth = .none
    public var clientCAFile: String?
    public var minVersion: TLSVersion = .tlsv12
    public var maxVersion: TLSVersion?

    private static let versions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]

    static func parse(_ node: YAMLConfigNode, relativeTo directory: String) throws(ConfigError) -> TLSServerSettings {
        let keys = try node.mapping(allowed: ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"])
        func path(_ key: String) throws(ConfigError) -> String? {
            guard let entry = keys[key] else { return nil }
            let value = try entry.nonEmptyString()
            let resolved = value.hasPrefix("/") ? value : directory + "/" + value
            guard FileManager.default.isReadableFile(atPath: resolved) else { throw entry.error("cannot read \(resolved)") }
            return resolved
        }
        func version(_ key: String) throws(ConfigError) -> TLSVersion? {
            guard let entry = keys[key] else { return nil }
            let value = try entry.string()
            guard let version = versions[value] else { throw entry.error("'\(value)' is not one of TLS10, TLS11, TLS12, TLS13") }
            return version
        }
        guard let certFile = try path("cert_file") else { throw node.error("needs cert_file") }
        guard let keyFile = try path("key_file") else { throw node.error("needs key_file") }
        var settings = TLSServerSettings(certFile: certFile, keyFile: keyFile)
        settings.clientCAFile = try path("client_ca_file")
        if let entry = keys["client_auth_type"] {
            let value = try entry.string()
            guard let auth = ClientAuth(rawValue: value) else {
                throw entry.error("'\(value)' is not supported (use one of \(ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            settings.clientAuth = auth
        }
        if settings.clientAuth != .none, settings.clientCAFile == nil {
            throw node.error("client_auth_type \(settings.clientAuth.rawValue) needs client_ca_file")
        }
        settings.minVersion = try version("min_version") ?? settings.minVersion
        settings.maxVersion = try version("max_version")
        do {
            _ = try settings.makeContext()
        } catch {
            throw node.error("cannot use the certificate, key or CA: \(error)")
        }
        return settings
    }

    /// A server context from the files as they are now.
    func makeContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certFile).map { NIOSSLCertificateSource.certificate($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
        configuration.minimumTLSVersion = minVersion
        configuration.maximumTLSVersion = maxVersion
        switch clientAuth {
        case .none: configuration.certificateVerification = .none
        case .verifyIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAndVerify: configuration.certificateVerification = .noHostnameVerification
        }
        if let clientCAFile { configuration.trustRoots = .file(clientCAFile) }
        return try NIOSSLContext(configuration: configuration)
    }
}
