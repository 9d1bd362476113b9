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
}
