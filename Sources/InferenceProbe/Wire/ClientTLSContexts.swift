import Foundation
import NIOConcurrencyHelpers
import NIOSSL

/// One client TLS context per distinct TLS setting, shared by every prober using it. A context holds its
/// parsed trust store (about 0.8 MB with the system roots), and one per prober made 300 https targets x 3
/// transports take 750 MB. A CA file is part of the key by its content, so a reload after the file changed
/// gets a new context; contexts no prober holds any more are dropped.
enum ClientTLSContexts {
    private struct Key: Hashable {
        var insecureSkipVerify: Bool
        var caFile: String?
        var caFileContent: Data?
    }

    /// A context, held weakly: the probers own it.
    private final class Entry: @unchecked Sendable {
        weak var context: NIOSSLContext?
        init(_ context: NIOSSLContext) { self.context = context }
    }

    private static let entries = NIOLockedValueBox([Key: Entry]())

    /// The shared context for `settings`; throws as `NIOSSLContext` does for a bad CA file.
    static func context(for settings: TLSSettings) throws -> NIOSSLContext {
        let key = Key(insecureSkipVerify: settings.insecureSkipVerify, caFile: settings.caFile,
                      caFileContent: settings.caFile.flatMap { FileManager.default.contents(atPath: $0) })
        return try entries.withLockedValue { entries in
            if let context = entries[key]?.context { return context }
            entries = entries.filter { $0.value.context != nil }
            var configuration = TLSConfiguration.makeClientConfiguration()
            if settings.insecureSkipVerify { configuration.certificateVerification = .none }
            if let caFile = settings.caFile {
                configuration.trustRoots = .file(caFile)
            }
            let context = try NIOSSLContext(configuration: configuration)
            entries[key] = Entry(context)
            return context
        }
    }
}
