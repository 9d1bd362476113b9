import Hummingbird
import Logging
import ServiceLifecycle

extension Simulator {
    /// Runs the simulator on a free loopback port for the duration of `body`, which gets the port; the
    /// simulator is shut down gracefully afterwards, also when `body` throws.
    public func whileRunning<T: Sendable>(logger: Logger, _ body: (Int) async throws -> T) async throws -> T {
        try await withRunningApplication(logger: logger, { onListening in
            try application(host: "127.0.0.1", port: 0, logger: logger, onListening: onListening)
        }, body)
    }
}

/// Runs the application `makeApp` builds (given the callback that reports the port it listens on) for the
/// duration of `body`, which gets that port; shuts it down gracefully afterwards, also when `body` throws.
public func withRunningApplication<T: Sendable>(
    logger: Logger,
    _ makeApp: (@escaping @Sendable (Int) async -> Void) throws -> some ApplicationProtocol,
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try makeApp { continuation.yield($0) }
    let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ApplicationNotStarted() }
        do {
            let value = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            throw error
        }
    }
}

/// The application stopped before it said where it listens.
public struct ApplicationNotStarted: Error, CustomStringConvertible {
    public var description: String { "the application did not start" }
}
