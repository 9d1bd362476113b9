import Foundation
import Logging
import ServiceLifecycle

/// Polls the configuration file and asks for a reload when its content changes. Reading the path anew
/// each time follows a Kubernetes ConfigMap's symlink swap (`..data` pointing at a new directory), which
/// change notifications on the file itself would miss. A file that fails to load is reported once, not
/// at every poll: a new attempt waits for the next change.
struct ConfigFileWatcher: Service, CustomStringConvertible {
    let path: String
    let interval: Duration
    let requests: ReloadRequests
    let logger: Logger

    var description: String { "ConfigFileWatcher(\(path))" }

    func run() async throws {
        var seen = Self.content(of: path)
        while !Task.isShuttingDownGracefully {
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: interval) })) != nil else { return }
            let now = Self.content(of: path)
            guard let now, now != seen else { continue }
            seen = now
            logger.info("configuration file changed: reloading", metadata: ["file": "\(path)"])
            requests.submit(origin: "file change")
        }
    }

    /// The file's bytes through any symlinks; `nil` while it is missing (mid-swap), which is not a change.
    static func content(of path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }
}
