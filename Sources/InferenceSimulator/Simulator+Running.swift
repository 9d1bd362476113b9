import Logging
import ServiceLifecycle

extension Simulator {
    /// Runs the simulator on a free loopback port for the duration of `body`, which gets the port; the
    /// simulator is shut down gracefully afterwards, also when `body` throws.
    public func whileRunning<T: Sendable>(logger: Logger, _ body: (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try application(host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw SimulatorNotStarted() }
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
}

/// The simulator stopped before it said where it listens.
public struct SimulatorNotStarted: Error, CustomStringConvertible {
    public var description: String { "the simulator did not start" }
}
