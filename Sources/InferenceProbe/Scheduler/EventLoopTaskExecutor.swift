import NIOCore

/// Runs a task's jobs on one NIO event loop. A series' probing task prefers the loop its prober's
/// connections are on, so each await resumes on the thread where the bytes arrived instead of hopping
/// to the global executor's threads, and waking one of them, several times a probe.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Sleeps until `deadline` on the loop's own timer: `Task.sleep` would wake one of dispatch's threads at
    /// the deadline only to send the task back to this loop. Throws `CancellationError` when cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async throws {
        let timer = loop.scheduleTask(deadline: .deadline(for: deadline)) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch {
            throw CancellationError()
        }
    }
}
