import Foundation
import HummingbirdBcrypt
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL

/// The `--web.config.file` in force, re-read when the file or the certificate, key or CA files it names
/// change (looked at most once a second, when a connection or request needs it), so a certificate renewed
/// in place (cert-manager, a rotated Kubernetes secret) is served without a restart. A changed file that
/// does not load is logged and the previous one stays. Whether TLS is on at all is decided at start.
public final class WebConfigStore: Sendable {
    private struct State {
        var config: WebConfig
        var context: NIOSSLContext?
        /// The bytes of the file and of the files it names, as last loaded.
        var content: Data
        var checked: ContinuousClock.Instant
        /// Credentials already checked against their hash, so that a scrape every 15 s costs one bcrypt run,
        /// not one per scrape (exporter-toolkit keeps the same cache). Emptied when the file changes.
        var verified: Set<Credentials> = []
    }

    /// A user, the hash it was checked against and the password given; never printed.
    private struct Credentials: Hashable, CustomStringConvertible {
        var user: String
        var hash: Secret
        var password: Secret
        var description: String { "<credentials of \(user)>" }
    }

    public let file: String
    /// TLS is served (decided by the file read at start).
    public let tlsEnabled: Bool
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    /// A bcrypt hash nobody's password matches, checked for unknown users so that they cost the same time.
    private static let decoy = Bcrypt.hash(UUID().uuidString, cost: 10)

    /// Loads `file`; a problem is a `ConfigError` and the sidecar does not start.
    public init(file: String, logger: Logger) throws {
        self.file = file
        self.logger = logger
        let config = try WebConfig.load(file: file)
        let context = try config.tls?.makeContext()
        tlsEnabled = context != nil
        state = NIOLockedValueBox(State(config: config, context: context,
                                        content: Self.content(of: file, config), checked: .now))
    }

    /// The configuration in force, after looking at the file if a second has passed since the last look.
    func current() -> (config: WebConfig, context: NIOSSLContext?) {
        state.withLockedValue { state in
            let now = ContinuousClock.now
            if state.checked.duration(to: now) >= .seconds(1) {
                state.checked = now
                reloadIfChanged(&state)
            }
            return (state.config, state.context)
        }
    }

    /// The web configuration file's bytes followed by those of the TLS files it names.
    private static func content(of file: String, _ config: WebConfig) -> Data {
        let files = [file] + [config.tls?.certFile, config.tls?.keyFile, config.tls?.clientCAFile].compactMap { $0 }
        return files.reduce(into: Data()) { content, path in content += FileManager.default.contents(atPath: path) ?? Data() }
    }

    private func reloadIfChanged(_ state: inout State) {
        let content = Self.content(of: file, state.config)
        guard content != state.content else { return }
        state.content = content
        do {
            let config = try WebConfig.load(file: file)
            state.content = Self.content(of: file, config)
            let context = tlsEnabled ? try config.tls?.makeContext() : nil
            if tlsEnabled, context == nil {
                logger.error("the web configuration no longer has tls_server_config; TLS stays on with the previous certificate",
                             metadata: ["file": "\(file)"])
                return
            }
            (state.config, state.context, state.verified) = (config, context ?? state.context, [])
            logger.info("web configuration reloaded", metadata: ["file": "\(file)", "users": "\(config.users.count)"])
        } catch {
            logger.error("web configuration not reloaded, the previous one stays in force",
                         metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    /// `$2y$` (what `htpasswd -B` writes) as `$2b$`: the same algorithm under the prefix the bcrypt
    /// library knows.
    static func normalized(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    /// Whether `user` and `password` match `basic_auth_users`. Runs bcrypt off the event loops; an unknown
    /// user is checked against a decoy hash, so the answer's timing does not tell which users exist.
    func authenticate(user: String, password: String) async -> Bool {
        let config = current().config
        let hash = config.users[user]
        let credentials = Credentials(user: user, hash: hash ?? Secret(Self.decoy), password: Secret(password))
        if hash != nil, state.withLockedValue({ $0.verified.contains(credentials) }) { return true }
        let matches = (try? await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: Self.normalized(credentials.hash.value))
        }) ?? false
        guard matches, hash != nil else { return false }
        state.withLockedValue { state in
            if state.verified.count >= 256 { state.verified.removeAll() }
            state.verified.insert(credentials)
        }
        return true
    }
}
